using System.Globalization;
using System.Text.Json;
using System.Text.Json.Serialization;

namespace ClipTrainer.Training;

/// <summary>The CSV and JSON shapes of a training history, shared by <see cref="TrainingHistory.Save"/> and <see cref="HistoryFilesCallback"/>.</summary>
internal static class HistoryFiles
{
    public const string StepsFileName = "history.csv";
    public const string EpochsFileName = "epochs.csv";
    public const string JsonFileName = "history.json";

    public const string EpochHeader =
        "epoch,training_loss,validation_loss,validation_metric,mean_norm,median_norm,p90_norm,p99_norm,max_norm,mean_post_clip_norm," +
        "clipped_fraction,skipped_steps,steps,learning_rate,seconds";

    // NaN and ∞ (a skipped step's norm, an epoch of skipped steps) must survive: JSON numbers cannot hold them.
    private static readonly JsonSerializerOptions Json = new()
    {
        WriteIndented = true,
        NumberHandling = JsonNumberHandling.AllowNamedFloatingPointLiterals,
        PropertyNamingPolicy = JsonNamingPolicy.CamelCase,
    };

    public static string StepHeader(IReadOnlyList<string> stageNames, IReadOnlyList<string> groupNames) =>
        string.Join(",", new[] { "epoch", "step", "step_in_epoch", "loss", "pre_clip_norm", "post_clip_norm", "clipped", "skipped", "learning_rate" }
            .Concat(stageNames.Select(name => Quote("coefficient/" + name)))
            .Concat(groupNames.Select(name => Quote("norm/" + name))));

    /// <summary>One CSV row; the stage and group columns are padded with empty cells (or cut) to the header's counts.</summary>
    public static string StepRow(TrainingStepRecord step, int stageCount, int groupCount) =>
        string.Join(",", new[]
        {
            Number(step.Epoch), Number(step.Step), Number(step.StepInEpoch), Number(step.Loss), Number(step.PreClipNorm),
            Number(step.PostClipNorm), step.Clipped ? "1" : "0", step.Skipped ? "1" : "0", Number(step.LearningRate),
        }
        .Concat(Cells(step.StageCoefficients, stageCount))
        .Concat(Cells(step.GroupNorms, groupCount)));

    public static string EpochRow(EpochRecord e) => string.Join(",",
        Number(e.Epoch), Number(e.TrainingLoss), Number(e.ValidationLoss), Number(e.ValidationMetric), Number(e.MeanGradientNorm),
        Number(e.MedianGradientNorm), Number(e.GradientNormPercentile90), Number(e.GradientNormPercentile99), Number(e.MaximumGradientNorm),
        Number(e.MeanPostClipGradientNorm), Number(e.ClippedFraction), Number(e.SkippedSteps), Number(e.Steps), Number(e.LearningRate),
        Number(e.Duration.TotalSeconds));

    public static void WriteJson(TrainingHistory history, string path)
    {
        var document = new
        {
            history.ValidationMetricName,
            history.BestEpoch,
            history.StoppedEarly,
            history.StopReason,
            history.StageNames,
            history.NormGroupNames,
            Epochs = history.Epochs.Select(e => new
            {
                e.Epoch, e.TrainingLoss, e.ValidationLoss, e.ValidationMetric, e.MeanGradientNorm, e.MedianGradientNorm,
                e.GradientNormPercentile90, e.GradientNormPercentile99, e.MaximumGradientNorm, e.MeanPostClipGradientNorm,
                e.ClippedFraction, e.SkippedSteps, e.Steps, e.LearningRate, Seconds = e.Duration.TotalSeconds,
            }),
            history.Steps,
        };
        // Written beside the target and renamed over it: a reader never sees half a file.
        var temporary = path + ".tmp";
        using (var stream = File.Create(temporary)) JsonSerializer.Serialize(stream, document, Json);
        File.Move(temporary, path, overwrite: true);
    }

    private static IEnumerable<string> Cells(IReadOnlyList<double> values, int count) =>
        Enumerable.Range(0, count).Select(i => i < values.Count ? Number(values[i]) : "");

    private static string Number(double? value) => value is double v ? v.ToString("R", CultureInfo.InvariantCulture) : "";

    private static string Number(long value) => value.ToString(CultureInfo.InvariantCulture);

    private static string Quote(string name) => name.Contains(',') || name.Contains('"') ? "\"" + name.Replace("\"", "\"\"") + "\"" : name;
}
