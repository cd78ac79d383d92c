namespace ClipTrainer.Experiments;

/// <summary>One configuration's runs summarised over seeds: a row of the comparison table.</summary>
/// <remarks>
/// The metric's mean, standard deviation and interval are over the runs with a finite metric (<see cref="MetricCount"/>;
/// a diverged run has none and is counted in <see cref="DivergedRuns"/> instead). The interval is the two-sided 95 %
/// Student-t interval mean ± t(0.975, n − 1)·s/√n, chosen over a bootstrap because a comparison has few seeds.
/// </remarks>
public sealed class ClippingComparisonRow
{
    internal ClippingComparisonRow(string name, IReadOnlyList<ClippingComparisonRun> runs, bool hasCriterion)
    {
        ConfigurationName = name;
        Runs = runs.Count;
        (MetricCount, MetricMean, MetricStandardDeviation, var halfWidth) = StudentInterval.Of(runs.Select(r => r.Metric));
        (MetricIntervalLow, MetricIntervalHigh) = (MetricMean - halfWidth, MetricMean + halfWidth);
        SecondaryMetricMean = StudentInterval.Of(runs.Select(r => r.SecondaryMetric)).Mean;
        FinalTrainingLossMean = StudentInterval.Of(runs.Select(r => r.FinalTrainingLoss)).Mean;
        DivergedRuns = runs.Count(r => r.Diverged);
        SkippedSteps = runs.Sum(r => r.SkippedSteps);
        MeanPreClipNorm = StudentInterval.Of(runs.Select(r => r.MeanPreClipNorm)).Mean;
        MaximumPreClipNorm = runs.Select(r => r.MaximumPreClipNorm).Where(double.IsFinite).DefaultIfEmpty(double.NaN).Max();
        ClippedFraction = StudentInterval.Of(runs.Select(r => r.ClippedFraction)).Mean;
        MeanCosine = StudentInterval.Of(runs.Select(r => r.MeanCosine)).Mean;
        MinimumCosine = runs.Select(r => r.MinimumCosine).Where(double.IsFinite).DefaultIfEmpty(double.NaN).Min();
        SecondsPerEpoch = StudentInterval.Of(runs.Select(r => r.SecondsPerEpoch)).Mean;
        SolvedRuns = runs.Count(r => r.StepsToSolve is not null);
        MedianStepsToSolve = hasCriterion ? Median(runs.Select(r => r.StepsToSolve is long s ? s : double.PositiveInfinity).ToArray()) : double.NaN;
    }

    /// <summary>Gets the configuration's name.</summary>
    public string ConfigurationName { get; }

    /// <summary>Gets the number of runs (seeds).</summary>
    public int Runs { get; }

    /// <summary>Gets the number of runs with a finite metric.</summary>
    public int MetricCount { get; }

    /// <summary>Gets the mean metric over the runs with a finite one (NaN when none).</summary>
    public double MetricMean { get; }

    /// <summary>Gets the sample standard deviation (n − 1) of the metric (NaN with fewer than 2 values).</summary>
    public double MetricStandardDeviation { get; }

    /// <summary>Gets the lower end of the 95 % t-interval of the mean metric (NaN with fewer than 2 values).</summary>
    public double MetricIntervalLow { get; }

    /// <summary>Gets the upper end of the 95 % t-interval of the mean metric (NaN with fewer than 2 values).</summary>
    public double MetricIntervalHigh { get; }

    /// <summary>Gets the mean second metric over the runs with a finite one.</summary>
    public double SecondaryMetricMean { get; }

    /// <summary>Gets the mean over runs of the last epoch's training loss (finite values).</summary>
    public double FinalTrainingLossMean { get; }

    /// <summary>Gets the number of runs that diverged (non-finite loss or weights, or training threw).</summary>
    public int DivergedRuns { get; }

    /// <summary>Gets the number of skipped steps summed over runs.</summary>
    public int SkippedSteps { get; }

    /// <summary>Gets the mean over runs of the mean raw-gradient L2 norm.</summary>
    public double MeanPreClipNorm { get; }

    /// <summary>Gets the largest raw-gradient L2 norm over all runs.</summary>
    public double MaximumPreClipNorm { get; }

    /// <summary>Gets the mean over runs of the fraction of steps clipped.</summary>
    public double ClippedFraction { get; }

    /// <summary>Gets the mean over runs of the mean cosine between the clipped and the raw gradient (1 = direction kept).</summary>
    public double MeanCosine { get; }

    /// <summary>Gets the smallest per-step cosine over all runs.</summary>
    public double MinimumCosine { get; }

    /// <summary>Gets the mean over runs of the seconds per epoch.</summary>
    public double SecondsPerEpoch { get; }

    /// <summary>Gets the number of runs that met the solved criterion.</summary>
    public int SolvedRuns { get; }

    /// <summary>
    /// Gets the median over all runs of the steps to solve, an unsolved run counting as +∞ (so the median is +∞ when
    /// the middle run, or either of the two middle runs, did not solve); NaN without a criterion.
    /// </summary>
    public double MedianStepsToSolve { get; }

    private static double Median(double[] values)
    {
        if (values.Length == 0) return double.NaN;
        Array.Sort(values);
        int middle = values.Length / 2;
        return values.Length % 2 == 1 ? values[middle] : (values[middle - 1] + values[middle]) / 2;
    }
}
