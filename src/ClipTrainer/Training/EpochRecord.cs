namespace ClipTrainer.Training;

/// <summary>What one epoch of training did: losses, the validation metric, and what clipping saw and did.</summary>
/// <param name="Epoch">The 1-based epoch number.</param>
/// <param name="TrainingLoss">The mean training loss over the epoch's steps (data loss, without the L1 term).</param>
/// <param name="ValidationLoss">The mean loss on the validation data after the epoch, or null without validation data.</param>
/// <param name="ValidationMetric">Accuracy (classification) or R² (regression) on the validation data, or null without it.</param>
/// <param name="MeanGradientNorm">The mean over steps of the pre-clip global gradient norm (the clipping's norm type).</param>
/// <param name="MaximumGradientNorm">The largest pre-clip global gradient norm of the epoch.</param>
/// <param name="ClippedFraction">The fraction of steps in which clipping changed at least one gradient.</param>
/// <param name="SkippedSteps">Steps whose update was skipped because of non-finite gradients (SkipStep policy).</param>
/// <param name="Steps">The number of optimizer steps attempted.</param>
/// <param name="LearningRate">The learning rate of the epoch's last step.</param>
/// <param name="Duration">The wall-clock time of the epoch, validation included.</param>
/// <param name="MedianGradientNorm">The median of the epoch's pre-clip global norms (applied steps).</param>
/// <param name="GradientNormPercentile90">The 90th percentile of the epoch's pre-clip global norms (linear interpolation, as NumPy's default).</param>
/// <param name="GradientNormPercentile99">The 99th percentile of the epoch's pre-clip global norms.</param>
/// <param name="MeanPostClipGradientNorm">The mean over applied steps of the global norm after clipping.</param>
public sealed record EpochRecord(
    int Epoch,
    double TrainingLoss,
    double? ValidationLoss,
    double? ValidationMetric,
    double MeanGradientNorm,
    double MaximumGradientNorm,
    double ClippedFraction,
    int SkippedSteps,
    int Steps,
    double LearningRate,
    TimeSpan Duration,
    double MedianGradientNorm = double.NaN,
    double GradientNormPercentile90 = double.NaN,
    double GradientNormPercentile99 = double.NaN,
    double MeanPostClipGradientNorm = double.NaN);
