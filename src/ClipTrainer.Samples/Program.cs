using System.Diagnostics;
using ClipTrainer.Samples;
using Spectre.Console;

// Runnable samples, one scenario per file. Usage: ClipTrainer.Samples [scenario] [--out DIR] [--verbose] [scenario options]
// With no scenario every training sample runs ("all"); "--list" prints the names.
var samples = new Dictionary<string, Func<string[], SampleResult>>(StringComparer.OrdinalIgnoreCase)
{
    [SeedPipelineSample.Name] = SeedPipelineSample.Run,
    [MulticlassSample.Name] = MulticlassSample.Run,
    [BinarySample.Name] = BinarySample.Run,
    [RegressionSample.Name] = RegressionSample.Run,
    [SeedSimpleRnnComparison.Name] = SeedSimpleRnnComparison.Run,
    [CustomModuleSample.Name] = CustomModuleSample.Run,
    [ForecastSample.Name] = ForecastSample.Run,
    [FashionRowsSample.Name] = FashionRowsSample.Run,
};
// Samples that "all" leaves out: they need a data set installed and train for minutes.
var namedOnly = new HashSet<string>(StringComparer.OrdinalIgnoreCase) { FashionRowsSample.Name };
// The benchmarks run by name only and print their own tables.
var benchmarks = new Dictionary<string, Action<string[]>>(StringComparer.OrdinalIgnoreCase)
{
    [MonitoringOverheadBenchmark.Name] = MonitoringOverheadBenchmark.Run,
    [TrainingThreadsBenchmark.Name] = TrainingThreadsBenchmark.Run,
    [ThresholdProbeCommand.Name] = ThresholdProbeCommand.Run,
    [AdaptiveClippingBenchmark.Name] = AdaptiveClippingBenchmark.Run,
    [DistributedSample.Name] = DistributedSample.Run, // under mpiexec: not part of "all"
    [DistributedScalingBenchmark.Name] = DistributedScalingBenchmark.Run,
    [SoakBenchmark.Name] = SoakBenchmark.Run,
    [CompareCommand.Name] = CompareCommand.Run,
    [StreamingMemoryBenchmark.Name] = StreamingMemoryBenchmark.Run,
};
const string All = "all";

// Redirected output (CI, | tee) has no terminal width; give the summary table room instead of Spectre's 80 columns.
if (Console.IsOutputRedirected) AnsiConsole.Profile.Width = 200;

if (args is ["--list", ..])
{
    Console.WriteLine(string.Join(Environment.NewLine, samples.Keys.Append(All).Concat(benchmarks.Keys)));
    return 0;
}

var named = args.Length > 0 && !args[0].StartsWith('-');
var name = named ? args[0] : All;
var rest = named ? args[1..] : args;
try
{
    if (benchmarks.TryGetValue(name, out var benchmark))
    {
        benchmark(rest);
        return Environment.ExitCode; // a benchmark that cannot run (distributed without MPICH) sets it
    }

    List<string> toRun;
    var forAll = name == All ? SampleArguments.Parse(All, rest) : null; // "all" takes --out and --verbose and hands them on
    string[] ArgumentsOf(string sample) => forAll?.ForSample(sample) ?? rest;
    if (forAll is not null) toRun = [.. samples.Keys.Where(sample => !namedOnly.Contains(sample))];
    else if (samples.ContainsKey(name)) toRun = [name];
    else
    {
        Console.Error.WriteLine($"Unknown scenario '{name}'. Scenarios: {string.Join(", ", samples.Keys.Append(All).Concat(benchmarks.Keys))}.");
        return 1;
    }

    var rows = new List<SampleSummary.Row>();
    foreach (var sample in toRun)
    {
        SampleConsole.Line($"===== {sample} =====");
        var watch = Stopwatch.StartNew();
        var result = samples[sample](ArgumentsOf(sample));
        rows.Add(new SampleSummary.Row(sample, result, watch.Elapsed));
        SampleConsole.Line();
    }

    SampleSummary.Print(rows);
    return 0;
}
catch (SampleArgumentException exception)
{
    Console.Error.WriteLine(exception.Message);
    return 2;
}
catch (SampleDataMissingException exception)
{
    Console.Error.WriteLine(exception.Message);
    return 3;
}
