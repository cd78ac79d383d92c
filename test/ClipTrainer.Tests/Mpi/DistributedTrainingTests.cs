using System.Diagnostics;
using ClipTrainer.Mpi;
using Xunit;

namespace ClipTrainer.Tests.Mpi;

/// <summary>
/// The <c>distributed</c> sample run as a user runs it, in child processes: one process against
/// <c>mpiexec -n 2</c> (MPICH's hydra) on the same global batches, a failing rank, and the wrong launcher.
/// </summary>
[Collection(TorchSharpTrainingCollection.Name)]
public sealed class DistributedTrainingTests
{
    private static readonly string[] Modes = ["None", "GlobalNorm", "LocalNorm", "Value", "GlobalThenLocal"];

    // 1 epoch of 6 batches of 25 rows (12 and 13 per rank: unequal slices, so a wrong weighting shows), LSTM 1x16.
    private static readonly string[] Small = ["distributed", "--epochs", "1", "--batches", "6", "--hidden", "16"];

    [Fact]
    public void MpiexecTwoRanks_GiveTheWeightsOfOneProcess_ForEveryClippingMode()
    {
        Mpich.EnsureInstalled();
        var root = Directory.CreateTempSubdirectory("cliptrainer-mpi-");
        try
        {
            var single = Path.Combine(root.FullName, "one");
            var parallel = Path.Combine(root.FullName, "two");
            var one = Run(null, [.. Small, "--out", single]);
            var two = Run(2, [.. Small, "--out", parallel]);
            Assert.True(one.ExitCode == 0, one.Describe());
            Assert.True(two.ExitCode == 0, two.Describe());
            Assert.Contains("2 rank(s)", two.Output, StringComparison.Ordinal);

            // Tolerance 1e-5: the runs differ only in float32 rounding (two slice means weighted 12/25 and 13/25, summed,
            // against one mean of 25 rows: ~1e-7 relative on each gradient); Adam's update lr·m/√v passes that on, so
            // after 6 steps at lr 0.01 the weights differ by ~1e-8 (measured: at most 6e-8). Averaging the slices with
            // equal weights 1/2 instead of 12/25 and 13/25 was measured at 0.024: the bound separates the two by 1000×.
            foreach (var mode in Modes)
            {
                var expected = ReadWeights(Path.Combine(single, mode, "weights.bin"));
                var actual = ReadWeights(Path.Combine(parallel, mode, "weights.bin"));
                Assert.Equal(expected.Length, actual.Length);
                var worst = expected.Zip(actual, (e, a) => Math.Abs(e - a)).Max();
                Assert.True(worst <= 1e-5, $"{mode}: the 2-rank weights differ from the 1-process weights by up to {worst:R} (allowed 1e-5).");
            }
        }
        finally
        {
            root.Delete(recursive: true);
        }
    }

    [Fact]
    public void FailingRank_EndsEveryRank_InsteadOfLeavingThemWaiting()
    {
        Mpich.EnsureInstalled();
        var watch = Stopwatch.StartNew();

        var result = Run(2, [.. Small, "--fail-at-step", "3"]);

        Assert.True(result.ExitCode != 0, result.Describe());
        Assert.True(watch.Elapsed < Timeout, $"mpiexec took {watch.Elapsed.TotalSeconds:F0} s.");
        Assert.Contains("Rank 1 of 2 failed at epoch 1, step 3", result.Error, StringComparison.Ordinal);
        Assert.Contains("Aborting every rank", result.Error, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("OMPI_COMM_WORLD_SIZE", "Open MPI's mpirun")]
    [InlineData("PMI_SIZE", "started 2 ranks (PMI_SIZE=2) but MPI sees a world of 1")]
    public void LauncherOfAnotherMpi_IsRefused_NamingMpichsLauncher(string variable, string reason)
    {
        Mpich.EnsureInstalled();

        var result = Run(null, Small, (variable, "2"));

        Assert.True(result.ExitCode == 3, result.Describe());
        Assert.Contains(reason, result.Error, StringComparison.Ordinal);
        Assert.Contains("mpiexec.mpich -n N", result.Error, StringComparison.Ordinal);
    }

    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(120);

    private static float[] ReadWeights(string path)
    {
        var bytes = File.ReadAllBytes(path);
        var values = new float[bytes.Length / sizeof(float)];
        Buffer.BlockCopy(bytes, 0, values, 0, bytes.Length);
        return values;
    }

    /// <summary>Runs the samples under <c>mpiexec.hydra -n ranks</c>, or alone when <paramref name="ranks"/> is null; killed after <see cref="Timeout"/>.</summary>
    private static ProcessResult Run(int? ranks, string[] arguments, params (string Name, string Value)[] environment)
    {
        var samples = Path.Combine(AppContext.BaseDirectory, "ClipTrainer.Samples.dll");
        var dotnet = Environment.ProcessPath is { } host && Path.GetFileNameWithoutExtension(host) == "dotnet" ? host : "dotnet";
        var start = new ProcessStartInfo(ranks is null ? dotnet : Mpich.Launcher)
        {
            RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false,
        };
        if (ranks is int n) foreach (var argument in new[] { "-n", n.ToString(System.Globalization.CultureInfo.InvariantCulture), dotnet }) start.ArgumentList.Add(argument);
        start.ArgumentList.Add(samples);
        foreach (var argument in arguments) start.ArgumentList.Add(argument);
        foreach (var (name, value) in environment) start.Environment[name] = value;

        using var process = Process.Start(start)!;
        var output = process.StandardOutput.ReadToEndAsync();
        var error = process.StandardError.ReadToEndAsync();
        if (!process.WaitForExit(Timeout))
        {
            process.Kill(entireProcessTree: true);
            Assert.Fail($"'{start.FileName} {string.Join(' ', start.ArgumentList)}' did not end within {Timeout.TotalSeconds} s (a rank waiting forever?).");
        }

        return new ProcessResult(process.ExitCode, output.Result, error.Result);
    }

    private sealed record ProcessResult(int ExitCode, string Output, string Error)
    {
        public string Describe() => $"Exit code {ExitCode}.\nstdout:\n{Output}\nstderr:\n{Error}";
    }
}
