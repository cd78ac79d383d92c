using BenchmarkDotNet.Running;
using ClipTrainer.Benchmarks;

// "quick": issue 7's clip table as ratios in one process (about a minute). Anything else goes to BenchmarkDotNet,
// e.g. `-- --filter '*'` or `-- --list flat`.
if (args is ["quick", ..])
{
    QuickComparison.Run(args[1..]);
    return 0;
}

BenchmarkSwitcher.FromAssembly(typeof(QuickComparison).Assembly).Run(args);
return 0;
