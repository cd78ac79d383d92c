using BenchmarkDotNet.Running;
using ClipTrainer.Benchmarks;

// "quick": issue 7's table as ratios in one invocation (about two minutes). Anything else goes to BenchmarkDotNet,
// e.g. `-- --filter '*'` or `-- --list flat`.
if (args is [DataPathComparison.RssChildArgument, var mode])
{
    DataPathComparison.RssChild(mode); // one side of the quick mode's peak-memory row, in a process of its own
    return 0;
}

if (args is ["quick", ..])
{
    QuickComparison.Run(args[1..]);
    return 0;
}

BenchmarkSwitcher.FromAssembly(typeof(QuickComparison).Assembly).Run(args);
return 0;
