using System.Diagnostics;
using System.Globalization;
using ClipTrainer.Modeling;
using Microsoft.ML;
using Microsoft.ML.Data;

namespace ClipTrainer.Samples;

/// <summary>
/// Benchmark: training time of the seed-sized LSTM task with libtorch's default thread count against
/// <c>NumberOfThreads = 1</c>, for two hidden sizes, rounds interleaved in one process; prints the median and the ratio.
/// </summary>
/// <remarks>Arguments: <c>--rounds N</c> (default 3). Each fit is 2 epochs over 3,200 sequences of 20 × 10.</remarks>
internal static class TrainingThreadsBenchmark
{
    public const string Name = "threads-benchmark";

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
        var data = mlContext.Data.LoadFromEnumerable(Enumerable.Range(0, 3200)
            .Select(_ => new Row { Features = random.NextNoise(200), Label = (uint)random.Next(5) }).ToList());
        var keyed = mlContext.Transforms.Conversion.MapValueToKey("Label").Fit(data).Transform(data);

        Console.WriteLine($"libtorch's default thread count here: {TorchSharp.torch.get_num_threads()}; {rounds} interleaved rounds, median seconds per fit.");
        Console.WriteLine($"{"hidden",6} {"default threads",16} {"1 thread",10} {"default / 1",12}");
        foreach (int hidden in new[] { 20, 128 })
        {
            var defaultTimes = new List<double>();
            var oneThreadTimes = new List<double>();
            for (int round = 0; round < rounds; round++)
            {
                foreach (int? threads in new int?[] { null, 1 })
                {
                    var watch = Stopwatch.StartNew();
                    mlContext.MulticlassClassification.Trainers.ClipTrainer(new SequenceTrainerOptions
                    {
                        InputSize = 10, SequenceLength = 20, CellType = RecurrentCellType.Lstm, HiddenSize = hidden,
                        MaximumNumberOfEpochs = 2, NumberOfThreads = threads,
                    }).Fit(keyed).Dispose();
                    (threads is null ? defaultTimes : oneThreadTimes).Add(watch.Elapsed.TotalSeconds);
                }
            }
            double Median(List<double> v) => v.Order().ElementAt(v.Count / 2);
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"{hidden,6} {Median(defaultTimes),16:F2} {Median(oneThreadTimes),10:F2} {Median(defaultTimes) / Median(oneThreadTimes),12:F2}"));
        }
    }
}
