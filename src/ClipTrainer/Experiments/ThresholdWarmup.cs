using ClipTrainer.Clipping;
using ClipTrainer.Data;
using ClipTrainer.Training;
using Microsoft.ML;

namespace ClipTrainer.Experiments;

/// <summary>The 10th percentiles a warm-up of unclipped steps measured: each of the quantity one clipping rule bounds.</summary>
/// <param name="Steps">The warm-up's steps with finite gradients.</param>
/// <param name="GlobalL2">Global L2 norm.</param>
/// <param name="GlobalL1">Global L1 norm.</param>
/// <param name="GlobalMaximum">Global L∞ norm (the largest |gᵢ|).</param>
/// <param name="ParameterL2">L2 norm of one parameter tensor, over steps and tensors.</param>
/// <param name="LayerL2">L2 norm of one layer's gradients, over steps and layers (<see cref="GradientGrouping.ByLayer"/>).</param>
internal sealed record WarmupNorms(int Steps, double GlobalL2, double GlobalL1, double GlobalMaximum, double ParameterL2, double LayerL2);

/// <summary>
/// Measures gradient norms over the first steps of an unclipped run of the base options (same model, seed, optimizer,
/// schedule), through the trainer and its per-step records: one warm-up per norm type (the records hold one p).
/// </summary>
internal static class ThresholdWarmup
{
    public const int DefaultSteps = 50;

    /// <summary>
    /// The percentile each threshold is: AutoClip's 10th (Seetharaman et al. 2020), not the median, because an unclipped
    /// warm-up that explodes puts most of its steps in the explosion (measured on the exploding task: median global L2
    /// norm 2.3e14 over 50 steps), and a low percentile still reads the steps before it.
    /// </summary>
    public const double Percentile = 10;

    public static WarmupNorms Measure(IDataView trainingData, SequenceTask task, SequenceTrainerOptions baseOptions, int steps)
    {
        var l2 = Run(trainingData, task, baseOptions, steps, normType: 2);
        var l1 = Run(trainingData, task, baseOptions, steps, normType: 1);
        var maximum = Run(trainingData, task, baseOptions, steps, normType: double.PositiveInfinity);
        var applied = l2.Steps.Where(s => !s.Skipped && double.IsFinite(s.PreClipNorm)).ToArray();
        var layers = GradientGrouping.ByLayer(l2.NormGroupNames);
        var layerNorms = applied.SelectMany(s => layers.Select(layer => Math.Sqrt(layer.Members.Sum(i => s.GroupNorms[i] * s.GroupNorms[i]))));
        return new WarmupNorms(applied.Length,
            Quantile(applied.Select(s => s.PreClipNorm)),
            Quantile(l1.Steps.Where(s => !s.Skipped).Select(s => s.PreClipNorm)),
            Quantile(maximum.Steps.Where(s => !s.Skipped).Select(s => s.PreClipNorm)),
            Quantile(applied.SelectMany(s => s.GroupNorms)),
            Quantile(layerNorms));
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

    /// <summary>The <see cref="Percentile"/>th percentile of the finite, positive values (a parameter without a gradient reports 0), with NumPy's linear interpolation.</summary>
    internal static double Quantile(IEnumerable<double> values)
    {
        var sorted = values.Where(v => double.IsFinite(v) && v > 0).Order().ToArray();
        if (sorted.Length == 0) return double.NaN;
        double position = Percentile / 100 * (sorted.Length - 1);
        int below = (int)Math.Floor(position);
        int above = Math.Min(below + 1, sorted.Length - 1);
        return sorted[below] + (position - below) * (sorted[above] - sorted[below]);
    }

    private sealed class StopAfter(int steps) : TrainingCallback
    {
        public override void OnAfterOptimizerStep(TrainingState state, GradientClipReport report)
        {
            if (state.GlobalStep >= steps) state.RequestStop($"warm-up of {steps} steps done");
        }
    }
}
