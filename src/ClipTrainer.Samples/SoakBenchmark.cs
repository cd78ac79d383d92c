using System.Diagnostics;
using System.Globalization;
using ClipTrainer.Modeling;
using ClipTrainer.Training;
using Microsoft.ML;
using Microsoft.ML.Data;

namespace ClipTrainer.Samples;

/// <summary>
/// Soak: one long Fit of 10,000 steps (100 epochs × 100 batches, a checkpoint every 1,000 steps) and then 200 repeated
/// Fit → Transform → Dispose cycles in one process, printing the resident set size (RSS) at intervals and its growth,
/// so a leak of native tensors or managed objects shows as a rising column. Each reading follows a full collection. The
/// long Fit keeps every step's record in its history by design (10,000 records), which the first column includes. The
/// managed column (live managed bytes after the collection, <c>GC.GetTotalMemory</c>) splits the growth: what it does
/// not explain is native (libtorch's tensors and allocator caches, the C runtime's heaps).
/// </summary>
/// <remarks>Arguments: <c>--epochs N</c> for the long Fit (default 100), <c>--rounds N</c> repeated Fits (default 200). One libtorch thread.</remarks>
internal static class SoakBenchmark
{
    public const string Name = "soak";

    public sealed class Row
    {
        [VectorType(16)]
        public float[] Features { get; set; } = [];

        public float Label { get; set; }
    }

    public static void Run(string[] args)
    {
        var arguments = SampleArguments.ParseWithoutOutput(Name, args, SampleArguments.Epochs, SampleArguments.Rounds);
        int epochs = arguments.Number(SampleArguments.Epochs, 100), fits = arguments.Number(SampleArguments.Rounds, 200);
        var mlContext = new MLContext(seed: 0);
        var random = new Random(1);
        var rows = Enumerable.Range(0, 1000).Select(_ =>
        {
            var features = random.NextNoise(16);
            return new Row { Features = features, Label = features.Where((_, i) => i % 2 == 0).Sum() };
        }).ToList();
        var data = mlContext.Data.LoadFromEnumerable(rows);
        var small = mlContext.Data.LoadFromEnumerable(rows.Take(100).ToList());
        Console.WriteLine($"load: {File.ReadAllText("/proc/loadavg").Trim()}");

        var checkpoints = Directory.CreateTempSubdirectory("cliptrainer-soak-").FullName;
        try
        {
            var options = Options(epochs);
            options.Checkpoints = new CheckpointOptions { Directory = checkpoints, EveryEpochs = null, EverySteps = 1000, KeepLast = 2 };
            long? first = null, firstManaged = null;
            var watch = Stopwatch.StartNew();
            options.EpochProgress = new Reporter(record =>
            {
                if (record.Epoch % 10 != 0) return;
                GC.Collect(); // so the column shows what is kept, not garbage the GC has not needed to collect yet
                GC.WaitForPendingFinalizers();
                var rss = ResidentBytes();
                var managed = GC.GetTotalMemory(forceFullCollection: false);
                first ??= rss;
                firstManaged ??= managed;
                Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                    $"long fit  epoch {record.Epoch,4}  step {record.Epoch * 100,6}  RSS {rss / 1048576.0,7:F1} MiB  growth since epoch 10 {(rss - first.Value) / 1048576.0,6:F1} MiB, managed {(managed - firstManaged.Value) / 1048576.0,6:F1} MiB  {watch.Elapsed.TotalSeconds,6:F0} s"));
            });
            using (var model = mlContext.Regression.Trainers.ClipTrainer(options).Fit(data))
                Console.WriteLine($"long fit: {model.History.Steps.Count} steps, {Directory.GetDirectories(checkpoints).Length} checkpoints kept, final loss {model.History.Epochs[^1].TrainingLoss:F4}");

            long? afterWarmUp = null, afterWarmUpManaged = null;
            for (int fit = 1; fit <= fits; fit++)
            {
                using (var model = mlContext.Regression.Trainers.ClipTrainer(Options(epochs: 1)).Fit(small))
                    mlContext.Regression.Evaluate(model.Transform(small));
                if (fit % 25 != 0 && fit != 5) continue;
                GC.Collect();
                GC.WaitForPendingFinalizers();
                var rss = ResidentBytes();
                var managed = GC.GetTotalMemory(forceFullCollection: false);
                afterWarmUp ??= rss;
                afterWarmUpManaged ??= managed;
                Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                    $"repeated  fit {fit,4}  RSS {rss / 1048576.0,7:F1} MiB  growth since fit 5 {(rss - afterWarmUp.Value) / 1048576.0,6:F1} MiB, managed {(managed - afterWarmUpManaged.Value) / 1048576.0,6:F1} MiB  {watch.Elapsed.TotalSeconds,6:F0} s"));
            }
        }
        finally
        {
            Directory.Delete(checkpoints, recursive: true);
        }

        Console.WriteLine($"load: {File.ReadAllText("/proc/loadavg").Trim()}");
    }

    private static SequenceTrainerOptions Options(int epochs) => new()
    {
        InputSize = 2, SequenceLength = 8, CellType = RecurrentCellType.Gru, HiddenSize = 8,
        BatchSize = 10, MaximumNumberOfEpochs = epochs, NumberOfThreads = 1,
    };

    /// <summary>VmRSS of /proc/self/status.</summary>
    private static long ResidentBytes()
    {
        var line = File.ReadLines("/proc/self/status").First(l => l.StartsWith("VmRSS:", StringComparison.Ordinal));
        return long.Parse(line.Split(' ', StringSplitOptions.RemoveEmptyEntries)[1], CultureInfo.InvariantCulture) * 1024;
    }

    private sealed class Reporter(Action<EpochRecord> report) : IProgress<EpochRecord>
    {
        public void Report(EpochRecord value) => report(value);
    }
}
