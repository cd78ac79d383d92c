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
/// schedule) with the trainer's <see cref="SequenceTrainer.ProbeGradientNorms"/>: one probe per norm type and local
/// scope the thresholds need (a probe records one p and one grouping).
/// </summary>
internal static class ThresholdWarmup
{
    public const int DefaultSteps = 50;

    /// <summary>
    /// The percentile each threshold is: AutoClip's 10th (Seetharaman et al. 2020), not the median, because an unclipped
    /// warm-up that explodes puts most of its steps in the explosion (measured on the exploding task's first recipe, lr 1:
    /// median global L2 norm 2.3e14 over 50 steps), and a low percentile still reads the steps before it.
    /// </summary>
    public const double Percentile = 10;

    public static WarmupNorms Measure(IDataView trainingData, SequenceTask task, SequenceTrainerOptions baseOptions, int steps)
    {
        var parameters = Probe(trainingData, task, baseOptions, steps, normType: 2, LocalNormScope.Parameter);
        var layers = Probe(trainingData, task, baseOptions, steps, normType: 2, LocalNormScope.Layer);
        var l1 = Probe(trainingData, task, baseOptions, steps, normType: 1, LocalNormScope.Parameter);
        var maximum = Probe(trainingData, task, baseOptions, steps, normType: double.PositiveInfinity, LocalNormScope.Parameter);
        return new WarmupNorms(parameters.Steps - parameters.NonFiniteSteps,
            parameters.Percentile(Percentile), l1.Percentile(Percentile), maximum.Percentile(Percentile),
            Quantile(parameters.GroupNorms.SelectMany(step => step)), Quantile(layers.GroupNorms.SelectMany(step => step)));
    }

    private static ThresholdProbeReport Probe(IDataView trainingData, SequenceTask task, SequenceTrainerOptions baseOptions, int steps,
        double normType, LocalNormScope scope)
    {
        var options = baseOptions.Clone();
        options.Clipping = new GradientClippingOptions
        {
            Mode = ClippingMode.None, NormType = normType, LocalScope = scope, NonFinitePolicy = NonFiniteGradientPolicy.SkipStep,
        };
        return new SequenceTrainer(task, options).ProbeGradientNorms(trainingData, steps);
    }

    /// <summary>The <see cref="Percentile"/>th percentile of the finite, positive values (a parameter without a gradient reports 0), NumPy's interpolation.</summary>
    internal static double Quantile(IEnumerable<double> values) =>
        ThresholdProbeReport.PercentileOfSorted(values.Where(v => double.IsFinite(v) && v > 0).Order().ToArray(), Percentile);
}
