using ClipTrainer.Samples;

// Runnable samples, one scenario per file. Usage: ClipTrainer.Samples [scenario] [scenario arguments...]
// With no scenario the default one runs; "--list" prints the names.
var scenarios = new Dictionary<string, Action<string[]>>(StringComparer.OrdinalIgnoreCase)
{
    [SeedSimpleRnnComparison.Name] = SeedSimpleRnnComparison.Run,
};
const string DefaultScenario = SeedSimpleRnnComparison.Name;

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
