namespace ClipTrainer.Training;

/// <summary>A periodic report from inside an epoch (see <see cref="TrainingSettings.StepReportInterval"/>).</summary>
/// <param name="Epoch">The 1-based epoch number.</param>
/// <param name="Step">The 1-based step number within the epoch.</param>
/// <param name="StepsPerEpoch">The number of steps in every epoch.</param>
/// <param name="Loss">The loss of this step's batch.</param>
/// <param name="GradientNorm">The pre-clip global gradient norm of this step.</param>
public sealed record TrainingStepReport(int Epoch, int Step, int StepsPerEpoch, double Loss, double GradientNorm);
