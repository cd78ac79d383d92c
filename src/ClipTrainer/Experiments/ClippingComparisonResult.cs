using System.Globalization;
using System.Text;
using ClipTrainer.Data;

namespace ClipTrainer.Experiments;

/// <summary>
/// What a clipping comparison measured: one <see cref="ClippingComparisonRow"/> per configuration (in the order given)
/// and every <see cref="ClippingComparisonRun"/>, rendered as a Markdown table (<see cref="ToMarkdown"/>) or CSV
/// (<see cref="ToCsv"/>, <see cref="ToRunsCsv"/>).
/// </summary>
public sealed class ClippingComparisonResult
{
    internal ClippingComparisonResult(SequenceTask task, string? solvedDescription, IReadOnlyList<ClippingComparisonRow> rows, IReadOnlyList<ClippingComparisonRun> runs)
    {
        Task = task;
        (MetricName, SecondaryMetricName) = MetricNames(task);
        SolvedDescription = solvedDescription;
        Rows = rows;
        Runs = runs;
    }

    /// <summary>Gets the task the runs trained for.</summary>
    public SequenceTask Task { get; }

    /// <summary>
    /// Gets the name of the metric of <see cref="ClippingComparisonRun.Metric"/>, from ML.NET's evaluator of the task:
    /// <c>MicroAccuracy</c> (multiclass), <c>AreaUnderRocCurve</c> (binary), <c>RSquared</c> (regression).
    /// </summary>
    public string MetricName { get; }

    /// <summary>Gets the name of the second metric: <c>LogLoss</c> (multiclass), <c>Accuracy</c> (binary), <c>MeanSquaredError</c> (regression).</summary>
    public string SecondaryMetricName { get; }

    /// <summary>Gets the solved criterion in words, or null when the comparison had none.</summary>
    public string? SolvedDescription { get; }

    /// <summary>Gets one row per configuration, in the order the configurations were given.</summary>
    public IReadOnlyList<ClippingComparisonRow> Rows { get; }

    /// <summary>Gets every run, seed by seed, each seed's runs in configuration order.</summary>
    public IReadOnlyList<ClippingComparisonRun> Runs { get; }

    internal static (string, string) MetricNames(SequenceTask task) => task switch
    {
        SequenceTask.MulticlassClassification => ("MicroAccuracy", "LogLoss"),
        SequenceTask.BinaryClassification => ("AreaUnderRocCurve", "Accuracy"),
        _ => ("RSquared", "MeanSquaredError"),
    };

    /// <summary>
    /// Renders the table in Markdown: per configuration the metric as mean ± standard deviation with its 95 %
    /// t-interval, the second metric, the solved runs and median steps to solve (with a criterion), the final training
    /// loss, diverged runs, skipped steps, the raw gradient's mean and largest L2 norm, the clipped fraction, the mean
    /// and smallest cosine between clipped and raw gradient, and seconds per epoch. Numbers use the invariant culture;
    /// a missing value is "—", an unsolved median "∞".
    /// </summary>
    /// <returns>The table, with a header row and a line per configuration.</returns>
    public string ToMarkdown()
    {
        var header = new List<string> { "configuration", $"{MetricName} mean ± sd", "95 % CI", SecondaryMetricName };
        if (SolvedDescription is not null) header.AddRange(["solved", "median steps to solve"]);
        header.AddRange(["final train loss", "diverged", "skipped steps", "mean ‖g‖₂", "max ‖g‖₂", "clipped", "cos(clipped, raw) mean / min", "s/epoch"]);
        var text = new StringBuilder();
        text.AppendLine("| " + string.Join(" | ", header) + " |");
        text.AppendLine("|" + string.Concat(header.Select((_, i) => i == 0 ? "---|" : "---:|")));
        foreach (var row in Rows)
        {
            var cells = new List<string>
            {
                row.ConfigurationName,
                $"{Format(row.MetricMean, "F4")} ± {Format(row.MetricStandardDeviation, "F4")}",
                double.IsFinite(row.MetricIntervalLow) ? $"[{Format(row.MetricIntervalLow, "F4")}, {Format(row.MetricIntervalHigh, "F4")}]" : Missing,
                Format(row.SecondaryMetricMean, "F4"),
            };
            if (SolvedDescription is not null)
                cells.AddRange([$"{row.SolvedRuns}/{row.Runs}", double.IsPositiveInfinity(row.MedianStepsToSolve) ? "∞" : Format(row.MedianStepsToSolve, "F0")]);
            cells.AddRange([
                Format(row.FinalTrainingLossMean, "F4"), $"{row.DivergedRuns}/{row.Runs}", Format(row.SkippedSteps),
                Format(row.MeanPreClipNorm, "G4"), Format(row.MaximumPreClipNorm, "G4"), Format(row.ClippedFraction, "P0"),
                $"{Format(row.MeanCosine, "F4")} / {Format(row.MinimumCosine, "F4")}", Format(row.SecondsPerEpoch, "F2"),
            ]);
            text.AppendLine("| " + string.Join(" | ", cells.Select(c => c.Replace("|", "\\|", StringComparison.Ordinal))) + " |");
        }

        return text.ToString();
    }

    /// <summary>
    /// Renders the rows as CSV (RFC 4180, invariant culture, round-trip numbers; NaN and ∞ as <c>NaN</c> and
    /// <c>Infinity</c>): one line per configuration with every property of <see cref="ClippingComparisonRow"/>.
    /// </summary>
    /// <returns>The CSV text, header first.</returns>
    public string ToCsv()
    {
        var text = new StringBuilder();
        text.AppendLine($"configuration,runs,{MetricName}_count,{MetricName}_mean,{MetricName}_sd,{MetricName}_ci95_low,{MetricName}_ci95_high,{SecondaryMetricName}_mean," +
            "solved_runs,median_steps_to_solve,final_training_loss_mean,diverged_runs,skipped_steps,mean_preclip_l2_norm,max_preclip_l2_norm," +
            "clipped_fraction,mean_cosine,min_cosine,seconds_per_epoch");
        foreach (var r in Rows)
        {
            text.AppendLine(string.Join(",", Quote(r.ConfigurationName), Format(r.Runs), Format(r.MetricCount), Number(r.MetricMean),
                Number(r.MetricStandardDeviation), Number(r.MetricIntervalLow), Number(r.MetricIntervalHigh), Number(r.SecondaryMetricMean),
                Format(r.SolvedRuns), Number(r.MedianStepsToSolve), Number(r.FinalTrainingLossMean), Format(r.DivergedRuns), Format(r.SkippedSteps),
                Number(r.MeanPreClipNorm), Number(r.MaximumPreClipNorm), Number(r.ClippedFraction), Number(r.MeanCosine), Number(r.MinimumCosine),
                Number(r.SecondsPerEpoch)));
        }

        return text.ToString();
    }

    /// <summary>Renders every run as CSV, one line per run, in the conventions of <see cref="ToCsv"/> (an unsolved run's steps to solve is empty).</summary>
    /// <returns>The CSV text, header first.</returns>
    public string ToRunsCsv()
    {
        var text = new StringBuilder();
        text.AppendLine($"configuration,seed,{MetricName},{SecondaryMetricName},final_training_loss,diverged,failure,steps,skipped_steps," +
            "mean_preclip_l2_norm,max_preclip_l2_norm,clipped_fraction,mean_cosine,min_cosine,seconds_per_epoch,steps_to_solve");
        foreach (var r in Runs)
        {
            text.AppendLine(string.Join(",", Quote(r.ConfigurationName), Format(r.Seed), Number(r.Metric), Number(r.SecondaryMetric),
                Number(r.FinalTrainingLoss), r.Diverged ? "true" : "false", Quote(r.Failure ?? ""), Format(r.Steps), Format(r.SkippedSteps),
                Number(r.MeanPreClipNorm), Number(r.MaximumPreClipNorm), Number(r.ClippedFraction), Number(r.MeanCosine), Number(r.MinimumCosine),
                Number(r.SecondsPerEpoch), r.StepsToSolve is long s ? Format(s) : ""));
        }

        return text.ToString();
    }

    private const string Missing = "—";

    // Diverged runs reach R² of −10⁴⁰: beyond a million, four significant digits say as much as forty.
    private static string Format(double value, string format) => !double.IsFinite(value) ? Missing
        : value.ToString(Math.Abs(value) >= 1e6 ? "G4" : format, CultureInfo.InvariantCulture);

    private static string Format(long value) => value.ToString(CultureInfo.InvariantCulture);

    private static string Number(double value) => value.ToString("R", CultureInfo.InvariantCulture);

    private static string Quote(string text) =>
        text.IndexOfAny([',', '"', '\n', '\r']) < 0 ? text : "\"" + text.Replace("\"", "\"\"", StringComparison.Ordinal) + "\"";
}
