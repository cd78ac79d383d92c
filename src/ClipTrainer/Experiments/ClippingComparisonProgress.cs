namespace ClipTrainer.Experiments;

/// <summary>What <see cref="ClippingComparisonOptions.Progress"/> is told after each run of a comparison.</summary>
/// <param name="CompletedRuns">Runs finished so far, this one included (1-based).</param>
/// <param name="TotalRuns">Configurations × seeds.</param>
/// <param name="Run">The run that just finished.</param>
public sealed record ClippingComparisonProgress(int CompletedRuns, int TotalRuns, ClippingComparisonRun Run);
