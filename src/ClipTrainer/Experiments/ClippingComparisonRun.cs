using ClipTrainer.Training;

namespace ClipTrainer.Experiments;

/// <summary>One configuration trained on one seed and evaluated on the test data.</summary>
public sealed class ClippingComparisonRun
{
    internal ClippingComparisonRun()
    {
    }

    /// <summary>Gets the configuration's name.</summary>
    public string ConfigurationName { get; internal init; } = "";

    /// <summary>Gets the seed the run trained with.</summary>
    public int Seed { get; internal init; }

    /// <summary>Gets the task's metric on the test data (see <see cref="ClippingComparisonResult.MetricName"/>); NaN when the run failed or its weights are not finite.</summary>
    public double Metric { get; internal init; } = double.NaN;

    /// <summary>Gets the second metric on the test data (see <see cref="ClippingComparisonResult.SecondaryMetricName"/>); NaN as <see cref="Metric"/>.</summary>
    public double SecondaryMetric { get; internal init; } = double.NaN;

    /// <summary>Gets the mean training loss of the last epoch; NaN when the run failed.</summary>
    public double FinalTrainingLoss { get; internal init; } = double.NaN;

    /// <summary>Gets whether the run diverged: <see cref="TrainingHistory.Diverged"/>, or training threw (see <see cref="Failure"/>).</summary>
    public bool Diverged { get; internal init; }

    /// <summary>Gets the message of the exception that ended the run (non-finite gradients under the Error policy), or null.</summary>
    public string? Failure { get; internal init; }

    /// <summary>Gets the number of optimizer steps attempted.</summary>
    public long Steps { get; internal init; }

    /// <summary>Gets the number of steps skipped because of non-finite gradients.</summary>
    public int SkippedSteps { get; internal init; }

    /// <summary>Gets the mean over steps of the raw gradient's L2 norm (finite steps; L2 whatever p the configuration clips with, so rows compare).</summary>
    public double MeanPreClipNorm { get; internal init; } = double.NaN;

    /// <summary>Gets the largest finite raw-gradient L2 norm of the run.</summary>
    public double MaximumPreClipNorm { get; internal init; } = double.NaN;

    /// <summary>Gets the fraction of steps in which clipping changed a gradient.</summary>
    public double ClippedFraction { get; internal init; } = double.NaN;

    /// <summary>Gets the mean over steps of the cosine between the clipped and the raw gradient (see <see cref="ClippingDirectionCallback"/>).</summary>
    public double MeanCosine { get; internal init; } = double.NaN;

    /// <summary>Gets the smallest per-step cosine between the clipped and the raw gradient.</summary>
    public double MinimumCosine { get; internal init; } = double.NaN;

    /// <summary>Gets the mean wall time of an epoch in seconds (the per-epoch evaluation of the test data included when a solved criterion is set).</summary>
    public double SecondsPerEpoch { get; internal init; } = double.NaN;

    /// <summary>Gets the steps trained until the end of the first epoch that met the solved criterion, or null (not solved, or no criterion).</summary>
    public long? StepsToSolve { get; internal init; }

    /// <summary>Gets the training history (per-step loss and norms), or null when the run failed.</summary>
    public TrainingHistory? History { get; internal init; }

    /// <summary>Gets the raw gradient's L2 norm at every step (see <see cref="ClippingDirectionCallback.PreClipL2Norms"/>).</summary>
    public IReadOnlyList<double> PreClipL2Norms { get; internal init; } = [];
}
