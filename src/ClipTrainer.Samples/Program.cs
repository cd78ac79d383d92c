using ClipTrainer.Samples;

// Runnable samples, one scenario per file. Usage: ClipTrainer.Samples [scenario] [scenario arguments...]
// With no scenario the default one runs; "--list" prints the names.
var scenarios = new Dictionary<string, Action<string[]>>(StringComparer.OrdinalIgnoreCase)
{
    [SeedPipelineSample.Name] = SeedPipelineSample.Run,
    [MulticlassSample.Name] = MulticlassSample.Run,
    [BinarySample.Name] = BinarySample.Run,
    [RegressionSample.Name] = RegressionSample.Run,
    [SeedSimpleRnnComparison.Name] = SeedSimpleRnnComparison.Run,
    [TrainingThreadsBenchmark.Name] = TrainingThreadsBenchmark.Run,
    [MonitoringOverheadBenchmark.Name] = MonitoringOverheadBenchmark.Run,
};
// The default runs every sample once, in order, with its default arguments (the benchmarks only when named; the clip
// benchmarks live in src/ClipTrainer.Benchmarks).
scenarios["all"] = _ =>
{
    foreach (var (scenario, runScenario) in scenarios.Where(s => s.Key is not "all" and not TrainingThreadsBenchmark.Name and not MonitoringOverheadBenchmark.Name).ToList())
    {
        Console.WriteLine($"===== {scenario} =====");
        runScenario([]);
        Console.WriteLine();
    }
};
const string DefaultScenario = "all";

if (args is ["--list", ..])
{
    Console.WriteLine(string.Join(Environment.NewLine, scenarios.Keys));
    return 0;
}

var named = args.Length > 0 && !args[0].StartsWith('-');
var name = named ? args[0] : DefaultScenario;
if (!scenarios.TryGetValue(name, out var run))
{
    Console.Error.WriteLine($"Unknown scenario '{name}'. Scenarios: {string.Join(", ", scenarios.Keys)}.");
    return 1;
}

run(named ? args[1..] : args);
return 0;
