using ClipTrainer.Clipping;
using ClipTrainer.Modeling;
using Microsoft.ML;
using Microsoft.ML.Data;

namespace ClipTrainer.Samples;

/// <summary>
/// Regression: the mean over time of the product of two channels (a correlation), with an LSTM, mean pooling,
/// value clipping and ML.NET's regression metrics.
/// </summary>
public static class RegressionSample
{
    /// <summary>The scenario's name on the command line.</summary>
    public const string Name = "regression";

    private const int Channels = 4, Steps = 16;

    /// <summary>One window: <c>16 steps × 4 channels</c>, time-major, and its target.</summary>
    public sealed class Window
    {
        /// <summary>The readings.</summary>
        [VectorType(Steps * Channels)]
        public float[] Features { get; set; } = [];

        /// <summary>The target.</summary>
        public float Label { get; set; }
    }

    /// <summary>Runs the sample.</summary>
    /// <param name="args"><c>--epochs N</c> (default 15), <c>--verbose</c>, <c>--out DIR</c> (history and chart there).</param>
    /// <returns>What was trained, the held-out result and where the outputs went.</returns>
    public static SampleResult Run(string[] args)
    {
        var arguments = SampleArguments.Parse(Name, args, SampleArguments.Epochs);
        var mlContext = new MLContext(seed: 0);
        var train = TrainingData(mlContext);
        var test = mlContext.Data.LoadFromEnumerable(MakeWindows(500, seed: 31));

        var progress = new TrainingProgress($"{Name} (LSTM 32)");
        var options = TrainerOptions(arguments.Number(SampleArguments.Epochs, DefaultEpochs));
        foreach (var callback in SampleOutput.Callbacks(arguments.OutputDirectory)) options.Callbacks.Add(callback);
        options.Callbacks.Add(progress);
        var trainer = mlContext.Regression.Trainers.ClipTrainer(options);
        var model = progress.Run(() => trainer.Fit(train));

        var metrics = mlContext.Regression.Evaluate(model.Transform(test));
        SampleConsole.Line($"Test: R² {metrics.RSquared:F3}, RMSE {metrics.RootMeanSquaredError:F4}, MAE {metrics.MeanAbsoluteError:F4}");
        // Value clipping bounds each gradient element, not a norm: the norm panel has no threshold line.
        SampleOutput.WriteChart(arguments.OutputDirectory, model.History, $"{Name}, value clipping ±0.1", ChartThreshold.For(options.Clipping));

        return new SampleResult(
            $"LSTM 32, mean pooling, value ±0.1, {model.History.Epochs.Count} epochs",
            $"R² {metrics.RSquared:F3}, RMSE {metrics.RootMeanSquaredError:F4}",
            arguments.OutputDirectory);
    }

    private const int DefaultEpochs = 15;

    /// <summary>The training rows.</summary>
    internal static IDataView TrainingData(MLContext mlContext) => mlContext.Data.LoadFromEnumerable(MakeWindows(2000, seed: 30));

    /// <summary>The trainer options of the run, without its callbacks.</summary>
    internal static SequenceTrainerOptions TrainerOptions(int epochs = DefaultEpochs) => new()
    {
        InputSize = Channels,
        SequenceLength = Steps,
        CellType = RecurrentCellType.Lstm,
        HiddenSize = 32,
        Pooling = SequencePooling.Mean,
        MaximumNumberOfEpochs = epochs,
        LearningRate = 0.005,
        Clipping = new GradientClippingOptions { Mode = ClippingMode.Value, Threshold = 0.1 },
    };

    private static List<Window> MakeWindows(int count, int seed)
    {
        var random = new Random(seed);
        var rows = new List<Window>(count);
        for (int n = 0; n < count; n++)
        {
            var features = random.NextNoise(Steps * Channels);
            double sum = 0;
            for (int t = 0; t < Steps; t++) sum += features[t * Channels] * features[t * Channels + 1];
            rows.Add(new Window { Features = features, Label = (float)(sum / Math.Sqrt(Steps) + 0.05 * random.NextGaussian()) });
        }
        return rows;
    }
}
