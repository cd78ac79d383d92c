using ClipTrainer.Clipping;
using ClipTrainer.Modeling;
using Microsoft.ML;
using Microsoft.ML.Data;

namespace ClipTrainer.Samples;

/// <summary>
/// Binary: is a sensor stream of 8 to 30 readings trending up? Variable-length sequences (padding is packed away, so
/// it cannot change a prediction), a GRU, per-tensor local-norm clipping, and ML.NET's calibrated binary metrics.
/// </summary>
public static class BinarySample
{
    /// <summary>The scenario's name on the command line.</summary>
    public const string Name = "binary";

    private const int Channels = 2;

    /// <summary>One stream: any number of steps × 2 channels, time-major, and whether it rises.</summary>
    public sealed class Stream
    {
        /// <summary>The readings (variable length).</summary>
        [VectorType]
        public float[] Features { get; set; } = [];

        /// <summary>True when channel 0 trends upward.</summary>
        public bool Label { get; set; }
    }

    /// <summary>Runs the sample.</summary>
    /// <param name="args"><c>--epochs N</c> (default 8), <c>--verbose</c>, <c>--out DIR</c> (history and chart there).</param>
    /// <returns>What was trained, the held-out result and where the outputs went.</returns>
    public static SampleResult Run(string[] args)
    {
        var arguments = SampleArguments.Parse(Name, args, SampleArguments.Epochs);
        var mlContext = new MLContext(seed: 0);
        var train = TrainingData(mlContext);
        var test = mlContext.Data.LoadFromEnumerable(MakeStreams(500, seed: 21));

        var progress = new TrainingProgress($"{Name} (GRU 16)");
        var options = TrainerOptions(arguments.Number(SampleArguments.Epochs, DefaultEpochs));
        foreach (var callback in SampleOutput.Callbacks(arguments.OutputDirectory)) options.Callbacks.Add(callback);
        options.Callbacks.Add(progress);
        var trainer = mlContext.BinaryClassification.Trainers.ClipTrainer(options);
        var model = progress.Run(() => trainer.Fit(train));

        var metrics = mlContext.BinaryClassification.Evaluate(model.Transform(test));
        SampleConsole.Line($"Test: Accuracy {metrics.Accuracy:F3}, AUC {metrics.AreaUnderRocCurve:F3}, F1 {metrics.F1Score:F3}, LogLoss {metrics.LogLoss:F3}");
        var first = model.History.Epochs[0];
        var last = model.History.Epochs[^1];
        SampleConsole.Line($"Training loss {first.TrainingLoss:F4} → {last.TrainingLoss:F4}; mean pre-clip norm {first.MeanGradientNorm:F3} → {last.MeanGradientNorm:F3}");
        SampleOutput.WriteChart(arguments.OutputDirectory, model.History, $"{Name}, local norm 0.5 per parameter", ChartThreshold.For(options.Clipping));

        return new SampleResult(
            $"GRU 16, length 8–30, local norm 0.5, {model.History.Epochs.Count} epochs",
            $"Accuracy {metrics.Accuracy:F3}, AUC {metrics.AreaUnderRocCurve:F3}",
            arguments.OutputDirectory);
    }

    private const int DefaultEpochs = 8;

    /// <summary>The training rows.</summary>
    internal static IDataView TrainingData(MLContext mlContext) => mlContext.Data.LoadFromEnumerable(MakeStreams(1500, seed: 20));

    /// <summary>The trainer options of the run, without its callbacks.</summary>
    internal static SequenceTrainerOptions TrainerOptions(int epochs = DefaultEpochs) => new()
    {
        InputSize = Channels,
        SequenceLength = null, // variable length
        CellType = RecurrentCellType.Gru,
        HiddenSize = 16,
        Pooling = SequencePooling.LastStep,
        MaximumNumberOfEpochs = epochs,
        Clipping = new GradientClippingOptions { Mode = ClippingMode.LocalNorm, Threshold = 0.5, LocalScope = LocalNormScope.Parameter },
    };

    private static List<Stream> MakeStreams(int count, int seed)
    {
        var random = new Random(seed);
        var rows = new List<Stream>(count);
        for (int n = 0; n < count; n++)
        {
            int length = random.Next(8, 31);
            bool rising = random.Next(2) == 1;
            var features = random.NextNoise(length * Channels, scale: 2.0);
            for (int t = 0; t < length; t++)
                features[t * Channels] += (rising ? 1 : -1) * (2f * t / (length - 1) - 1);
            rows.Add(new Stream { Features = features, Label = rising });
        }
        return rows;
    }
}
