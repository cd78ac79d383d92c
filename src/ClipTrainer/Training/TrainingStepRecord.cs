namespace ClipTrainer.Training;

/// <summary>What one training step measured and did: its loss, the gradient norm before and after clipping, each clip
/// stage's coefficient, whether it clipped or was skipped, and the learning rate.</summary>
/// <param name="Epoch">The 1-based epoch.</param>
/// <param name="Step">The 1-based step of the whole run, counting every batch trained on (skipped steps included).</param>
/// <param name="StepInEpoch">The 1-based step within the epoch.</param>
/// <param name="Loss">The batch's data loss (without the L1 term).</param>
/// <param name="PreClipNorm">The global gradient norm before clipping (p of the clipping options); NaN or ∞ when non-finite.</param>
/// <param name="PostClipNorm">The global gradient norm after clipping; equal to <paramref name="PreClipNorm"/> on a skipped step.</param>
/// <param name="Clipped">Whether any clip stage changed a gradient.</param>
/// <param name="Skipped">Whether the optimizer step was skipped (non-finite gradients under the SkipStep policy).</param>
/// <param name="LearningRate">The learning rate of the step.</param>
/// <param name="StageCoefficients">The smallest coefficient each clip stage applied (1 = unchanged), in the order of
/// <see cref="TrainingHistory.StageNames"/>; NaN for a stage that applies no coefficient (value clipping) and on a
/// skipped step.</param>
/// <param name="GroupNorms">The pre-clip norm of each group of <see cref="TrainingHistory.NormGroupNames"/> (layers or
/// parameters, see <see cref="TrainingSettings.RecordGradientNorms"/>), 0 for a parameter that got no gradient that
/// step; empty when not recorded.</param>
public sealed record TrainingStepRecord(
    int Epoch,
    long Step,
    int StepInEpoch,
    double Loss,
    double PreClipNorm,
    double PostClipNorm,
    bool Clipped,
    bool Skipped,
    double LearningRate,
    IReadOnlyList<double> StageCoefficients,
    IReadOnlyList<double> GroupNorms);
