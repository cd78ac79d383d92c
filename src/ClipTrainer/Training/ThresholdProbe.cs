using ClipTrainer.Clipping;
using ClipTrainer.Data;
using static TorchSharp.torch;

namespace ClipTrainer.Training;

/// <summary>
/// Measures the gradient norms of a model on its data before a threshold is chosen: runs the first steps of the
/// training run that the settings describe, without clipping, and reports their pre-clip norms with suggested
/// thresholds (<see cref="ThresholdProbeReport"/>). The ML.NET trainer offers the same through
/// <see cref="SequenceTrainer.ProbeGradientNorms"/>.
/// </summary>
/// <remarks>
/// <para>The probe is <see cref="SequenceTrainingLoop"/> itself with these changes to a copy of the settings:
/// <see cref="GradientClippingOptions.Mode"/> = <see cref="ClippingMode.None"/> (norm type, local scope and non-finite
/// policy are kept), <see cref="TrainingSettings.RecordGradientNorms"/> at the options' local scope, no early stopping,
/// no validation, no callbacks or progress reports of the user's (a probe writes no monitoring files),
/// <see cref="TrainingSettings.StopOnDivergence"/> off (a diverging warm-up is what the norms should show), and a stop
/// after <c>steps</c> steps. Everything else is the user's: model, data order, optimizer, learning rate and schedule
/// (the schedule's length is still the full run's, so the warm-up sees the learning rates the run will).</para>
/// <para>The model's weights and its training/evaluation mode are restored afterwards, so the probed model trains
/// from where it was. The run is capped by the run the settings describe: with fewer steps in all than asked for,
/// the report has fewer steps.</para>
/// </remarks>
public static class ThresholdProbe
{
    /// <summary>The default number of warm-up steps: 100.</summary>
    public const int DefaultSteps = 100;

    /// <summary>Runs <paramref name="steps"/> warm-up steps without clipping and reports their gradient norms.</summary>
    /// <param name="model">The model of the loop's port; its weights are restored afterwards.</param>
    /// <param name="task">The task, which picks the loss.</param>
    /// <param name="training">The training batches.</param>
    /// <param name="settings">The settings of the run to probe; not changed (a copy is adapted, see the remarks).</param>
    /// <param name="steps">How many steps to run. Range: &gt; 0. Default: 100.</param>
    /// <param name="cancellation">Stops the probe before the next batch.</param>
    /// <returns>The report.</returns>
    /// <exception cref="ArgumentNullException">An argument is null.</exception>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="steps"/> is not &gt; 0, or a setting is out of range.</exception>
    /// <exception cref="ArgumentException">The batches do not fit the model or task (as in <see cref="SequenceTrainingLoop.Run(nn.Module{Tensor, Tensor?, Tensor}, SequenceTask, ISequenceBatchSource, ISequenceBatchSource?, TrainingSettings, CancellationToken)"/>).</exception>
    /// <exception cref="InvalidOperationException">Gradients were non-finite under <see cref="NonFiniteGradientPolicy.Error"/>, or the device is not available.</exception>
    /// <exception cref="OperationCanceledException"><paramref name="cancellation"/> was cancelled.</exception>
    public static ThresholdProbeReport Run(nn.Module<Tensor, Tensor?, Tensor> model, SequenceTask task, ISequenceBatchSource training,
        TrainingSettings settings, int steps = DefaultSteps, CancellationToken cancellation = default)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(training);
        ArgumentNullException.ThrowIfNull(settings);
        if (steps <= 0)
            throw new ArgumentOutOfRangeException(nameof(steps), steps,
                $"steps must be > 0 (the number of warm-up steps to measure), but was {steps}; {DefaultSteps} is the default.");
        settings.ValidateSettings();

        var probe = settings.CopySettings();
        probe.Clipping.Mode = ClippingMode.None;
        probe.Clipping.RuleFactory = null;
        probe.RecordGradientNorms = probe.Clipping.LocalScope == LocalNormScope.Layer ? GradientNormDetail.Layer : GradientNormDetail.Parameter;
        probe.EarlyStoppingPatience = null;
        probe.StopOnDivergence = false;
        probe.EpochProgress = null;
        probe.StepProgress = null;
        probe.Callbacks.Clear();
        probe.Callbacks.Add(new StopAfter(steps));

        var wasTraining = model.training;
        var saved = Snapshot(model);
        try
        {
            var history = SequenceTrainingLoop.Run(model, task, training, validation: null, probe, cancellation);
            return new ThresholdProbeReport(settings.Clipping, history.Steps.Select(s => s.PreClipNorm).ToArray(),
                history.NormGroupNames, history.Steps.Select(s => s.GroupNorms).ToArray());
        }
        finally
        {
            Restore(model, saved);
            model.train(wasTraining);
            foreach (var tensor in saved.Values) tensor.Dispose();
        }
    }

    private static Dictionary<string, Tensor> Snapshot(nn.Module model)
    {
        using var noGrad = no_grad();
        return model.state_dict().ToDictionary(p => p.Key, p => p.Value.detach().clone().DetachFromDisposeScope());
    }

    private static void Restore(nn.Module model, Dictionary<string, Tensor> saved)
    {
        using var noGrad = no_grad();
        foreach (var (name, value) in model.state_dict())
        {
            if (saved.TryGetValue(name, out var original)) value.copy_(original);
        }
    }

    /// <summary>Asks the loop to stop once the probe's steps have run.</summary>
    private sealed class StopAfter(int steps) : TrainingCallback
    {
        public override void OnAfterOptimizerStep(TrainingState state, GradientClipReport report)
        {
            if (state.GlobalStep >= steps) state.RequestStop($"threshold probe: {steps} steps measured");
        }
    }
}
