using System.Diagnostics;
using System.Globalization;
using ClipTrainer.Modeling;
using ClipTrainer.Training;
using Microsoft.ML;
using Microsoft.ML.Data;

namespace ClipTrainer.Samples;

/// <summary>
/// Benchmark: training time of LSTM models on all cores (libtorch's own default) against <c>NumberOfThreads = 1</c>,
/// over a grid of hidden sizes and batch sizes, rounds interleaved in one process; prints per cell the median seconds of
/// the training loop, the ratio and the model's parameters × batch size, the quantity the default thread rule reads.
/// </summary>
/// <remarks>Arguments: <c>--rounds N</c> (default 3). Each fit is 12 steps over sequences of 20 × 10, 5 classes.</remarks>
internal static class TrainingThreadsBenchmark
{
    public const string Name = "threads-benchmark";

    private const int Steps = 12;

    public sealed class Row
    {
        [VectorType(200)]
        public float[] Features { get; set; } = [];

        public uint Label { get; set; }
    }

    public static void Run(string[] args)
    {
        int rounds = SampleArguments.ParseWithoutOutput(Name, args, SampleArguments.Rounds).Number(SampleArguments.Rounds, 3);
        var mlContext = new MLContext(seed: 0);
        var random = new Random(1);
        var cores = Environment.ProcessorCount;
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"{DateTime.UtcNow:yyyy-MM-dd HH:mm} UTC, {cores} cores, load {LoadAverage()}; {rounds} interleaved rounds; median seconds of the training loop ({Steps} steps)."));
        Console.WriteLine($"{"hidden",6} {"batch",6} {"params × batch",15} {$"{cores} threads",10} {"1 thread",9} {$"{cores} ÷ 1",8}");
        foreach (int batch in new[] { 32, 128 })
        {
            var rows = Load(mlContext, random, batch);
            var data = mlContext.Transforms.Conversion.MapValueToKey("Label").Fit(rows).Transform(rows);
            foreach (int hidden in new[] { 16, 32, 64, 128, 256 })
            {
                var times = new Dictionary<int, List<double>> { [cores] = [], [1] = [] };
                long parameters = 0;
                for (int round = -1; round < rounds; round++)
                {
                    foreach (int threads in new[] { cores, 1 })
                    {
                        var timer = new LoopTimer();
                        var options = new SequenceTrainerOptions
                        {
                            InputSize = 10, SequenceLength = 20, CellType = RecurrentCellType.Lstm, HiddenSize = hidden, BatchSize = batch,
                            MaximumNumberOfEpochs = 1, NumberOfThreads = threads, Schedule = LearningRateSchedule.Constant,
                        };
                        options.Callbacks.Add(timer);
                        using var model = mlContext.MulticlassClassification.Trainers.ClipTrainer(options).Fit(data);
                        parameters = timer.Parameters;
                        if (round >= 0) times[threads].Add(timer.Seconds); // round −1 warms up
                    }
                }

                double Median(List<double> v) => v.Order().ElementAt(v.Count / 2);
                Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                    $"{hidden,6} {batch,6} {parameters * batch,15:N0} {Median(times[cores]),10:F3} {Median(times[1]),9:F3} {Median(times[cores]) / Median(times[1]),8:F2}"));
            }
        }
        Console.WriteLine($"Load after: {LoadAverage()}.");
    }

    private static IDataView Load(MLContext mlContext, Random random, int batch) =>
        mlContext.Data.LoadFromEnumerable(Enumerable.Range(0, Steps * batch)
            .Select(_ => new Row { Features = random.NextNoise(200), Label = (uint)random.Next(5) }).ToList());

    private static string LoadAverage() =>
        File.Exists("/proc/loadavg") ? string.Join(' ', File.ReadAllText("/proc/loadavg").Split(' ').Take(3)) : "n/a";

    /// <summary>Times the training loop alone (from its start to its end) and counts the model's parameters.</summary>
    private sealed class LoopTimer : TrainingCallback
    {
        private readonly Stopwatch _watch = new();

        public double Seconds { get; private set; }

        public long Parameters { get; private set; }

        public override void OnTrainingStart(TrainingState state)
        {
            Parameters = state.Parameters.Sum(p => p.Parameter.numel());
            _watch.Restart();
        }

        public override void OnTrainingEnd(TrainingState state, TrainingHistory history) => Seconds = _watch.Elapsed.TotalSeconds;
    }
}
