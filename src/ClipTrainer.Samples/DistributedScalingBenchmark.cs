using System.Diagnostics;
using System.Globalization;
using ClipTrainer.Mpi;

namespace ClipTrainer.Samples;

/// <summary>
/// Benchmark: data-parallel throughput of 2 ranks × 1 thread against 1 rank × 1 thread on the LSTM 2×128 task
/// (global batch 128 of 28 × 28, GlobalNorm clipping), and the gradient all-reduce's share of a step. Runs
/// <c>mpiexec.hydra -n 1</c> and <c>-n 2</c> of the <c>distributed</c> sample in alternation, so both see the same
/// machine load over the rounds; prints each round, the medians and their ratio, with <c>/proc/loadavg</c>.
/// </summary>
/// <remarks>
/// Arguments: <c>--rounds N</c> (default 3), <c>--batches N</c> per epoch (default 15; 2 epochs, the second one
/// timed). Ranks of one job share the machine: on 2 cores, anything else running takes from the 2-rank job first.
/// </remarks>
internal static class DistributedScalingBenchmark
{
    public const string Name = "distributed-scaling";

    private const string Launcher = "/usr/bin/mpiexec.hydra";

    public static void Run(string[] args)
    {
        var arguments = SampleArguments.ParseWithoutOutput(Name, args, SampleArguments.Rounds, SampleArguments.Batches);
        int rounds = arguments.Number(SampleArguments.Rounds, 3), batches = arguments.Number(SampleArguments.Batches, 15);
        if (!File.Exists(Launcher) || !MpiWorld.IsMpichInstalled)
        {
            Console.Error.WriteLine($"{Name}: MPICH is not installed ({Launcher}, {MpiWorld.MpichLibrary}). Install it with `{MpiWorld.InstallCommand}` (as root).");
            Environment.ExitCode = 3;
            return;
        }

        Console.WriteLine($"{Name}: LSTM 2x128, global batch 128 x 28 x 28, GlobalNorm, 2 epochs x {batches} batches (epoch 2 timed), " +
            $"{rounds} interleaved rounds, {Environment.ProcessorCount} cores");
        // all-reduce: scaling and summing the gradient buffer; wait: the step's first (two-number) all-reduce, time spent
        // waiting for the slower rank.
        Console.WriteLine($"{"round",5} {"ranks",5} {"rows/s",9} {"all-reduce",11} {"wait",9}  load (1, 5, 15 min) before");
        var throughput = new Dictionary<int, List<double>> { [1] = [], [2] = [] };
        var shares = new List<double>();
        var waits = new List<double>();
        for (int round = 1; round <= rounds; round++)
        {
            foreach (var ranks in new[] { 1, 2 })
            {
                var load = LoadAverage();
                var (rowsPerSecond, share, wait) = RunJob(ranks, batches);
                throughput[ranks].Add(rowsPerSecond);
                if (ranks == 2) shares.Add(share);
                if (ranks == 2) waits.Add(wait);
                Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                    $"{round,5} {ranks,5} {rowsPerSecond,9:F0} {100 * share,9:F2} % {100 * wait,7:F1} %  {load}"));
            }
        }

        double one = Median(throughput[1]), two = Median(throughput[2]);
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"median rows/s: 1 rank {one:F0}, 2 ranks {two:F0}; 2 ranks / 1 rank = {two / one:F2} (goal >= 1.7); " +
            $"all-reduce share of a 2-rank step {100 * Median(shares):F2} % (waiting for the other rank {100 * Median(waits):F1} %); load after {LoadAverage()}"));
    }

    private static (double RowsPerSecond, double Share, double Wait) RunJob(int ranks, int batches)
    {
        // This program as it was started: `dotnet ClipTrainer.Samples.dll`, or its apphost under `dotnet run`.
        var host = Environment.ProcessPath ?? "dotnet";
        string[] program = Path.GetFileNameWithoutExtension(host) == "dotnet"
            ? [host, typeof(DistributedScalingBenchmark).Assembly.Location]
            : [host];
        var start = new ProcessStartInfo(Launcher) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var argument in new[] { "-n", ranks.ToString(CultureInfo.InvariantCulture) }.Concat(program).Concat(new[]
        {
            DistributedSample.Name, "--mode", "2", "--hidden", "128",
            "--layers", "2", "--batch-size", "128", "--length", "28", "--inputs", "28", "--epochs", "2",
            "--batches", batches.ToString(CultureInfo.InvariantCulture), "--threads", "1",
        }))
        {
            start.ArgumentList.Add(argument);
        }

        using var process = Process.Start(start)!;
        var error = process.StandardError.ReadToEndAsync();
        var output = process.StandardOutput.ReadToEnd();
        process.WaitForExit();
        var timing = output.Split('\n').LastOrDefault(l => l.StartsWith("timing:", StringComparison.Ordinal));
        if (process.ExitCode != 0 || timing is null)
            throw new InvalidOperationException($"The {ranks}-rank job failed (exit code {process.ExitCode}):\n{output}\n{error.Result}");
        double Field(string name) => double.Parse(timing.Split(' ').Single(f => f.StartsWith(name, StringComparison.Ordinal))[name.Length..],
            CultureInfo.InvariantCulture);
        return (Field("rows/s="), Field("allreduce="), Field("wait="));
    }

    private static double Median(List<double> values)
    {
        var sorted = values.Order().ToArray();
        return sorted.Length % 2 == 1 ? sorted[sorted.Length / 2] : (sorted[sorted.Length / 2 - 1] + sorted[sorted.Length / 2]) / 2;
    }

    private static string LoadAverage() => string.Join(" ", File.ReadAllText("/proc/loadavg").Split(' ').Take(3));
}
