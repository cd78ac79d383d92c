namespace ClipTrainer.Training;

/// <summary>Builds an <see cref="EpochRecord"/> from the epoch's per-step records.</summary>
internal static class EpochSummary
{
    public static EpochRecord Create(int epoch, IReadOnlyList<TrainingStepRecord> steps, double? validationLoss, double? validationMetric,
        double learningRate, TimeSpan duration)
    {
        // Losses and norms are averaged over applied steps: a skipped step's values are non-finite by definition.
        var applied = steps.Where(s => !s.Skipped).ToArray();
        var norms = applied.Select(s => s.PreClipNorm).Order().ToArray();
        double Mean(Func<TrainingStepRecord, double> value) => applied.Length > 0 ? applied.Average(value) : double.NaN;
        return new EpochRecord(
            epoch,
            Mean(s => s.Loss),
            validationLoss,
            validationMetric,
            Mean(s => s.PreClipNorm),
            norms.Length > 0 ? norms[^1] : double.NaN,
            steps.Count > 0 ? (double)steps.Count(s => s.Clipped) / steps.Count : 0,
            steps.Count - applied.Length,
            steps.Count,
            learningRate,
            duration,
            Percentile(norms, 50),
            Percentile(norms, 90),
            Percentile(norms, 99),
            Mean(s => s.PostClipNorm));
    }

    /// <summary>The q-th percentile of sorted values with linear interpolation between closest ranks (NumPy's default).</summary>
    public static double Percentile(IReadOnlyList<double> sorted, double q)
    {
        if (sorted.Count == 0) return double.NaN;
        var position = q / 100 * (sorted.Count - 1);
        var below = (int)Math.Floor(position);
        var above = Math.Min(below + 1, sorted.Count - 1);
        return sorted[below] + (position - below) * (sorted[above] - sorted[below]);
    }
}
