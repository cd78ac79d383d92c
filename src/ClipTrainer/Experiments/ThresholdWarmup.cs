using ClipTrainer.Clipping;
using ClipTrainer.Data;
using ClipTrainer.Training;
using Microsoft.ML;

namespace ClipTrainer.Experiments;

/// <summary>The medians a warm-up of unclipped steps measured: each the quantity one clipping rule bounds.</summary>
/// <param name="Steps">The warm-up's steps with finite gradients.</param>
/// <param name="GlobalL2">Median global L2 norm.</param>
/// <param name="GlobalL1">Median global L1 norm.</param>
/// <param name="GlobalMaximum">Median global L∞ norm (the largest |gᵢ|).</param>
/// <param name="ParameterL2">Median L2 norm of one parameter tensor, over steps and tensors.</param>
/// <param name="LayerL2">Median L2 norm of one layer's gradients, over steps and layers (<see cref="GradientGrouping.ByLayer"/>).</param>
internal sealed record WarmupNorms(int Steps, double GlobalL2, double GlobalL1, double GlobalMaximum, double ParameterL2, double LayerL2);

/// <summary>
/// Measures gradient norms over the first steps of an unclipped run of the base options (same model, seed, optimizer,
/// schedule), through the trainer and its per-step records: one warm-up per norm type (the records hold one p).
/// </summary>
internal static class ThresholdWarmup
{
    public const int DefaultSteps = 50;

    public static WarmupNorms Measure(IDataView trainingData, SequenceTask task, SequenceTrainerOptions baseOptions, int steps)
    {
        var l2 = Run(trainingData, task, baseOptions, steps, normType: 2);
        var l1 = Run(trainingData, task, baseOptions, steps, normType: 1);
        var maximum = Run(trainingData, task, baseOptions, steps, normType: double.PositiveInfinity);
        var applied = l2.Steps.Where(s => !s.Skipped && double.IsFinite(s.PreClipNorm)).ToArray();
        var layers = GradientGrouping.ByLayer(l2.NormGroupNames);
        var layerNorms = applied.SelectMany(s => layers.Select(layer => Math.Sqrt(layer.Members.Sum(i => s.GroupNorms[i] * s.GroupNorms[i]))));
        return new WarmupNorms(applied.Length,
            Median(applied.Select(s => s.PreClipNorm)),
            Median(l1.Steps.Where(s => !s.Skipped).Select(s => s.PreClipNorm)),
            Median(maximum.Steps.Where(s => !s.Skipped).Select(s => s.PreClipNorm)),
            Median(applied.SelectMany(s => s.GroupNorms)),
            Median(layerNorms));
    }

    private static TrainingHistory Run(IDataView trainingData, SequenceTask task, SequenceTrainerOptions baseOptions, int steps, double normType)
    {
        var options = baseOptions.Clone();
        // The user's sinks and progress are for the comparison's runs, not for this measurement.
        options.Callbacks.Clear();
        options.EpochProgress = null;
        options.StepProgress = null;
        options.ValidationSet = null;
        options.EarlyStoppingPatience = null;
        options.StopOnDivergence = false;
        options.Clipping = new GradientClippingOptions { Mode = ClippingMode.None, NormType = normType, NonFinitePolicy = NonFiniteGradientPolicy.SkipStep };
        options.RecordGradientNorms = GradientNormDetail.Parameter;
        options.Callbacks.Add(new StopAfter(steps));
        using var model = new SequenceTrainer(task, options).Fit(trainingData);
        return model.History;
    }

    /// <summary>The median of the finite, positive values (a parameter without a gradient reports 0), NumPy's interpolation.</summary>
    internal static double Median(IEnumerable<double> values)
    {
        var sorted = values.Where(v => double.IsFinite(v) && v > 0).Order().ToArray();
        if (sorted.Length == 0) return double.NaN;
        int middle = sorted.Length / 2;
        return sorted.Length % 2 == 1 ? sorted[middle] : (sorted[middle - 1] + sorted[middle]) / 2;
    }

    private sealed class StopAfter(int steps) : TrainingCallback
    {
        public override void OnAfterOptimizerStep(TrainingState state, GradientClipReport report)
        {
            if (state.GlobalStep >= steps) state.RequestStop($"warm-up of {steps} steps done");
        }
    }
}
