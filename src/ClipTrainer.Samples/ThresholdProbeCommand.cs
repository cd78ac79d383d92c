using System.Globalization;
using ClipTrainer.Training;
using Microsoft.ML;

namespace ClipTrainer.Samples;

/// <summary>
/// Command <c>probe</c>: runs the threshold probe (<see cref="SequenceTrainer.ProbeGradientNorms"/>) on a sample's
/// task — its data, model and options, without clipping — and prints the report: the norm statistics and the suggested
/// thresholds.
/// </summary>
/// <remarks>
/// Arguments: <c>--task seed-pipeline|multiclass|binary|regression</c> (default seed-pipeline), <c>--steps N</c>
/// (default 100). One libtorch thread. Output (abridged):
/// <code>
/// probe: task seed-pipeline, 100 steps, 1 libtorch thread, load 0.52 0.61 0.70
/// Gradient-norm probe: 100 steps without clipping, p = 2
///
/// | Statistic | Norm |
/// |---|---:|
/// | Mean | 0.55 |
/// ...
/// </code>
/// </remarks>
internal static class ThresholdProbeCommand
{
    public const string Name = "probe";
    public const string Task = "--task";

    /// <summary>Each sample's trainer (its catalog and options) and training data, as the sample trains them.</summary>
    private static readonly Dictionary<string, Func<MLContext, (SequenceTrainer Trainer, IDataView Data)>> Tasks = new(StringComparer.OrdinalIgnoreCase)
    {
        [SeedPipelineSample.Name] = c => (c.MulticlassClassification.Trainers.ClipTrainer(Deliberate(SeedPipelineSample.TrainerOptions())), Keyed(c, SeedPipelineSample.TrainingData(c))),
        [MulticlassSample.Name] = c => (c.MulticlassClassification.Trainers.ClipTrainer(Deliberate(MulticlassSample.TrainerOptions())), Keyed(c, MulticlassSample.TrainingData(c))),
        [BinarySample.Name] = c => (c.BinaryClassification.Trainers.ClipTrainer(Deliberate(BinarySample.TrainerOptions())), BinarySample.TrainingData(c)),
        [RegressionSample.Name] = c => (c.Regression.Trainers.ClipTrainer(Deliberate(RegressionSample.TrainerOptions())), RegressionSample.TrainingData(c)),
    };

    public static void Run(string[] args)
    {
        var (task, rest) = TaskArgument(args);
        int steps = SampleArguments.ParseWithoutOutput(Name, rest, SampleArguments.Steps).Number(SampleArguments.Steps, ThresholdProbe.DefaultSteps);
        var report = Probe(task, steps);
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"{Name}: task {task}, {steps} steps, 1 libtorch thread, load {File.ReadAllText("/proc/loadavg").Split(' ').Take(3).Aggregate((a, b) => $"{a} {b}")}"));
        Console.Write(report.ToMarkdown());
    }

    /// <summary>Probes <paramref name="task"/> for <paramref name="steps"/> steps.</summary>
    internal static ThresholdProbeReport Probe(string task, int steps)
    {
        var mlContext = new MLContext(seed: 0);
        var (trainer, data) = Tasks[task](mlContext);
        return trainer.ProbeGradientNorms(data, steps);
    }

    private static (string Task, string[] Others) TaskArgument(string[] args)
    {
        var at = Array.IndexOf(args, Task);
        if (at < 0) return (SeedPipelineSample.Name, args);
        var value = at + 1 < args.Length ? args[at + 1] : null;
        if (value is null || !Tasks.ContainsKey(value))
            throw new SampleArgumentException(
                $"{Name}: {Task} needs one of {string.Join(", ", Tasks.Keys)}, got '{value ?? "nothing"}'. Fix: e.g. {Task} {SeedPipelineSample.Name}.");
        return (Tasks.Keys.First(k => string.Equals(k, value, StringComparison.OrdinalIgnoreCase)), [.. args[..at], .. args[(at + 2)..]]);
    }

    private static IDataView Keyed(MLContext mlContext, IDataView data) =>
        mlContext.Transforms.Conversion.MapValueToKey("Label").Fit(data).Transform(data);

    // One thread, set on purpose: the norms do not depend on it, and the probe should not fight other processes for cores.
    private static SequenceTrainerOptions Deliberate(SequenceTrainerOptions options)
    {
        options.NumberOfThreads = 1;
        return options;
    }
}
