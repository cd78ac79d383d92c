using System.Diagnostics;
using System.Globalization;
using System.Reflection;
using ClipTrainer.Modeling;
using Microsoft.ML;
using Microsoft.ML.Data;

namespace ClipTrainer.Samples;

/// <summary>
/// Benchmark: peak resident memory (VmHWM) of one training epoch on a binary <c>.idv</c> of N and 4N rows × 784 floats
/// (28 steps × 28 features, MNIST-sized), read into memory (the default) against streamed by cursor
/// (<c>StreamingShuffleBufferSize</c>). Each fit runs in a child process of its own, so each peak is that fit's alone.
/// </summary>
/// <remarks>Arguments: <c>--rows N</c> (default 100,000; the second size is 4N). The files go to the temp folder and are
/// deleted afterwards (N = 100,000 writes 0.3 GB and 1.3 GB). One libtorch thread, GRU 8, batch 256.</remarks>
internal static class StreamingMemoryBenchmark
{
    public const string Name = "streaming-benchmark";

    private const int Steps = 28, StepFeatures = 28, ShuffleBuffer = 4096;
    private const string ChildInMemory = "--child-in-memory", ChildStreaming = "--child-streaming";

    public sealed class Row
    {
        [VectorType(Steps * StepFeatures)]
        public float[] Features { get; set; } = [];

        public float Label { get; set; }
    }

    public static void Run(string[] args)
    {
        if (args is [ChildInMemory or ChildStreaming, var file])
        {
            RunChild(streaming: args[0] == ChildStreaming, file);
            return;
        }
        int rows = SampleArguments.ParseWithoutOutput(Name, args, SampleArguments.Rows).Number(SampleArguments.Rows, 100_000);
        string Load() => File.ReadAllText("/proc/loadavg").Split(' ')[0];
        string loadBefore = Load();
        Console.WriteLine($"One epoch, GRU 8, batch 256, one libtorch thread; streaming with a shuffle buffer of {ShuffleBuffer} rows; " +
            "peak RSS (VmHWM) of a child process per fit.");
        Console.WriteLine($"{"rows",9} {"file MB",8} {"in memory MB",13} {"streaming MB",13} {"in memory s",12} {"streaming s",12}");
        foreach (int count in new[] { rows, 4 * rows })
        {
            string path = Path.Combine(Path.GetTempPath(), $"cliptrainer-streaming-{count}-{Environment.ProcessId}.idv");
            try
            {
                Write(path, count);
                var inMemory = Child(ChildInMemory, path);
                var streaming = Child(ChildStreaming, path);
                Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                    $"{count,9} {new FileInfo(path).Length / 1e6,8:F0} {inMemory.PeakMegabytes,13:F0} {streaming.PeakMegabytes,13:F0} {inMemory.Seconds,12:F1} {streaming.Seconds,12:F1}"));
            }
            finally
            {
                File.Delete(path);
            }
        }
        Console.WriteLine($"Load (1-minute average, /proc/loadavg): {loadBefore} → {Load()}.");
    }

    /// <summary>Writes <paramref name="count"/> random rows (label: the mean of the last step) without holding them: the rows are made as the saver reads them.</summary>
    private static void Write(string path, int count)
    {
        var mlContext = new MLContext(seed: 0);
        var random = new Random(count);
        IEnumerable<Row> Rows()
        {
            for (int n = 0; n < count; n++)
            {
                var features = random.NextNoise(Steps * StepFeatures);
                yield return new Row { Features = features, Label = features.AsSpan((Steps - 1) * StepFeatures).ToArray().Average() };
            }
        }
        using var file = File.Create(path);
        mlContext.Data.SaveAsBinary(mlContext.Data.LoadFromEnumerable(Rows()), file);
    }

    private static (double PeakMegabytes, double Seconds) Child(string mode, string path)
    {
        // Run as "dotnet Samples.dll" or as the apphost, whichever started this process.
        string host = Environment.ProcessPath!;
        var start = new ProcessStartInfo(host) { RedirectStandardOutput = true, UseShellExecute = false };
        if (Path.GetFileNameWithoutExtension(host) == "dotnet") start.ArgumentList.Add(Assembly.GetEntryAssembly()!.Location);
        foreach (var argument in new[] { Name, mode, path }) start.ArgumentList.Add(argument);
        using var child = Process.Start(start)!;
        string output = child.StandardOutput.ReadToEnd();
        child.WaitForExit();
        var result = output.Split('\n').LastOrDefault(l => l.StartsWith("RESULT ", StringComparison.Ordinal));
        if (child.ExitCode != 0 || result is null)
            throw new InvalidOperationException($"The {mode} child exited with {child.ExitCode}: {output}");
        var parts = result.Split(' ');
        return (double.Parse(parts[1], CultureInfo.InvariantCulture) / 1024, double.Parse(parts[2], CultureInfo.InvariantCulture));
    }

    private static void RunChild(bool streaming, string path)
    {
        var mlContext = new MLContext(seed: 0);
        var data = mlContext.Data.LoadFromBinary(path);
        var watch = Stopwatch.StartNew();
        using var model = mlContext.Regression.Trainers.ClipTrainer(new SequenceTrainerOptions
        {
            InputSize = StepFeatures, SequenceLength = Steps, CellType = RecurrentCellType.Gru, HiddenSize = 8,
            BatchSize = 256, MaximumNumberOfEpochs = 1, NumberOfThreads = 1,
            StreamingShuffleBufferSize = streaming ? ShuffleBuffer : null,
        }).Fit(data);
        var peak = File.ReadAllLines("/proc/self/status").Single(l => l.StartsWith("VmHWM:", StringComparison.Ordinal))
            .Split(' ', StringSplitOptions.RemoveEmptyEntries)[1]; // kB
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"RESULT {peak} {watch.Elapsed.TotalSeconds:F2}"));
    }
}
