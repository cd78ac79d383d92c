using System.Diagnostics;
using System.Globalization;
using ClipTrainer.Experiments;
using ClipTrainer.Samples.Tasks;
using Microsoft.ML;

namespace ClipTrainer.Samples;

/// <summary>
/// <c>compare --task NAME [--length T] [--seeds N] [--epochs E] [--warmup N] [--configurations NAME,NAME] [--chrono T] [--out DIR]</c>:
/// the clipping comparison on one task (<see cref="ComparisonTasks.All"/>). Every default configuration (one per clipping
/// mode, thresholds from an unclipped warm-up of the task's own options), or the subset <c>--configurations</c> names
/// (<see cref="ConfigurationSelection"/>), trains on every seed; progress prints a line per run; the Markdown
/// table follows. <c>--out DIR</c> writes <c>comparison.md</c>, <c>comparison.csv</c> (a row per configuration),
/// <c>runs.csv</c> (a row per run) and <c>comparison.png</c> (loss and norm curves overlaid).
/// </summary>
internal static class CompareCommand
{
    public const string Name = "compare";
    public const string Warmup = "--warmup";

    /// <summary><c>--chrono T</c>: the LSTM's chrono initialisation with T_max = T (<see cref="SequenceTrainerOptions.ChronoInitializationLength"/>).</summary>
    public const string Chrono = "--chrono";

    private const int DefaultSeeds = 2;
    private const int DataSeed = 2026;

    public static void Run(string[] args)
    {
        var arguments = ParseArguments(args);
        var task = ComparisonTasks.Named(arguments.Text(SampleArguments.Task, ComparisonTasks.All[0].Name));
        var request = new TaskDataRequest(arguments.Number(SampleArguments.Length, task.DefaultLength), DataSeed);
        var seeds = arguments.Number(SampleArguments.Seeds, DefaultSeeds);
        var watch = Stopwatch.StartNew();
        var loadAtStart = LoadAverage();

        var mlContext = new MLContext(seed: 0);
        var data = task.MakeData(mlContext, request);
        var options = task.BaseOptions(request);
        options.MaximumNumberOfEpochs = arguments.Number(SampleArguments.Epochs, options.MaximumNumberOfEpochs);
        if (arguments.Number(Chrono, 0) is > 0 and var chrono) options.ChronoInitializationLength = chrono;
        SampleConsole.Line($"compare --task {task.Name}: {task.Source}");
        SampleConsole.Line(Invariant($"T = {request.Length}, {options.CellType} {options.HiddenSize} × {options.NumberOfLayers} layer(s), {options.Optimizer} ") +
            Invariant($"lr {options.LearningRate}, {options.Schedule} schedule, batch {options.BatchSize}, {options.MaximumNumberOfEpochs} epoch(s), {seeds} seed(s), ") +
            Invariant($"{options.NumberOfThreads?.ToString(CultureInfo.InvariantCulture) ?? "default"} libtorch thread(s)") +
            (options.ChronoInitializationLength is { } tMax ? Invariant($", chrono initialisation T_max = {tMax}") : "") + $"; load {loadAtStart}");

        var warmup = arguments.Number(Warmup, 50);
        var configurations = ClippingComparison.DefaultConfigurations(data.Train, task.Task, options, warmup);
        if (arguments.Text(ConfigurationSelection.Option, "") is { Length: > 0 } selection)
            configurations = ConfigurationSelection.Select(configurations, selection);
        SampleConsole.Line($"Thresholds: 10th percentiles of {warmup} unclipped warm-up steps. Configurations: {string.Join("; ", configurations)}");

        var progress = new ClippingComparisonOptions
        {
            NumberOfSeeds = seeds,
            SolvedWhen = task.Solved?.IsSolved,
            SolvedDescription = task.Solved?.Description ?? "solved",
            Progress = new ConsoleProgress(),
        };
        var result = ClippingComparison.Run(mlContext, data.Train, data.Test, task.Task, options, configurations, progress);

        SampleConsole.Line();
        SampleConsole.Line($"{task.Name}, T = {request.Length}: {result.MetricName} on {CountRows(mlContext, data.Test)} held-out rows" +
            (task.Solved is { } solved ? $"; solved = {solved.Description} (checked after each epoch; the run stops there)" : ""));
        Console.Out.Write(result.ToMarkdown()); // not through Spectre, which wraps long lines at the console width
        SampleConsole.Line(Invariant($"Wall time {watch.Elapsed.TotalMinutes:F1} min; load {loadAtStart} → {LoadAverage()}"));

        if (arguments.OutputDirectory is { } directory)
        {
            Directory.CreateDirectory(directory);
            File.WriteAllText(Path.Combine(directory, "comparison.md"), result.ToMarkdown());
            File.WriteAllText(Path.Combine(directory, "comparison.csv"), result.ToCsv());
            File.WriteAllText(Path.Combine(directory, "runs.csv"), result.ToRunsCsv());
            var chart = Path.Combine(directory, ComparisonChart.FileName);
            ComparisonChart.Write(result, chart, $"{task.Name}, T = {request.Length}");
            ChartFonts.WarnIfMissing(chart);
            SampleConsole.Line($"Wrote comparison.md, comparison.csv, runs.csv and {ComparisonChart.FileName} to {directory}");
        }
    }

    /// <summary>The command line of <c>compare</c>.</summary>
    /// <exception cref="SampleArgumentException">An argument is unknown, or its value is missing or not valid.</exception>
    internal static SampleArguments ParseArguments(string[] args) =>
        SampleArguments.ParseWithText(Name, args, [SampleArguments.Task, ConfigurationSelection.Option],
            SampleArguments.Length, SampleArguments.Seeds, SampleArguments.Epochs, Warmup, Chrono);

    /// <summary>The 1-minute load average, beside every timing (the machine is shared).</summary>
    internal static string LoadAverage() =>
        File.Exists("/proc/loadavg") ? File.ReadAllText("/proc/loadavg").Split(' ')[0] : "n/a";

    private static long CountRows(MLContext mlContext, IDataView data) => data.GetRowCount() ?? data.Preview(int.MaxValue).RowView.Length;

    private static string Invariant(FormattableString text) => text.ToString(CultureInfo.InvariantCulture);

    /// <summary>One line per finished run.</summary>
    private sealed class ConsoleProgress : IProgress<ClippingComparisonProgress>
    {
        public void Report(ClippingComparisonProgress value)
        {
            var run = value.Run;
            var outcome = run.Failure is not null ? "failed: " + run.Failure
                : Invariant($"metric {run.Metric:F4}, final loss {run.FinalTrainingLoss:F4}, {run.Steps} steps, clipped {run.ClippedFraction:P0}, cos {run.MeanCosine:F3}") +
                  (run.StepsToSolve is long s ? Invariant($", solved at step {s}") : "") + (run.Diverged ? ", diverged" : "");
            SampleConsole.Line(Invariant($"[{value.CompletedRuns}/{value.TotalRuns}] {run.ConfigurationName}, seed {run.Seed}: {outcome} ({run.SecondsPerEpoch:F1} s/epoch, load {LoadAverage()})"));
        }
    }
}
