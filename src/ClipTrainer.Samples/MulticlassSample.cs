using ClipTrainer.Clipping;
using ClipTrainer.Modeling;
using ClipTrainer.Training;
using Microsoft.ML;
using Microsoft.ML.Data;

namespace ClipTrainer.Samples;

/// <summary>
/// Multiclass: which of four motion gestures a 3-axis accelerometer stream shows, with an LSTM, global-then-local
/// clipping (the seed's "combine" advice), a validation set with early stopping, and ML.NET's multiclass metrics.
/// </summary>
public static class MulticlassSample
{
    /// <summary>The scenario's name on the command line.</summary>
    public const string Name = "multiclass";

    private const int Axes = 3, Steps = 24;
    private static readonly string[] Gestures = ["circle", "shake", "tilt", "still"];

    /// <summary>One accelerometer window: <c>24 steps × 3 axes</c>, time-major, and the gesture's name.</summary>
    public sealed class Gesture
    {
        /// <summary>The readings.</summary>
        [VectorType(Steps * Axes)]
        public float[] Features { get; set; } = [];

        /// <summary>The gesture name.</summary>
        public string Label { get; set; } = "";
    }

    /// <summary>Runs the sample.</summary>
    /// <param name="args"><c>--epochs N</c> (the most epochs, default 15), <c>--verbose</c> (a line per epoch),
    /// <c>--out DIR</c> (history and chart there).</param>
    /// <returns>What was trained, the held-out result and where the outputs went.</returns>
    public static SampleResult Run(string[] args)
    {
        var arguments = SampleArguments.Parse(Name, args, SampleArguments.Epochs);
        var mlContext = new MLContext(seed: 0);
        var train = TrainingData(mlContext);
        var validation = mlContext.Data.LoadFromEnumerable(MakeGestures(300, seed: 11));
        var test = mlContext.Data.LoadFromEnumerable(MakeGestures(600, seed: 12));

        // The validation set needs the same label-to-key mapping the pipeline learns from the training data.
        var toKey = mlContext.Transforms.Conversion.MapValueToKey("Label");
        var progress = new TrainingProgress($"{Name} (LSTM 24)");
        var options = TrainerOptions(arguments.Number(SampleArguments.Epochs, DefaultEpochs));
        options.ValidationSet = toKey.Fit(train).Transform(validation);
        options.EarlyStoppingPatience = 3;
        foreach (var callback in SampleOutput.Callbacks(arguments.OutputDirectory)) options.Callbacks.Add(callback);
        options.Callbacks.Add(progress);
        var pipeline = toKey
            .Append(mlContext.MulticlassClassification.Trainers.ClipTrainer(options))
            .Append(mlContext.Transforms.Conversion.MapKeyToValue("PredictedLabel"));
        var model = progress.Run(() => pipeline.Fit(train));

        var history = model.OfType<SequenceTransformer>().Single().History;
        foreach (var epoch in history.Epochs)
            SampleConsole.Verbose(arguments, $"epoch {epoch.Epoch,2}: train loss {epoch.TrainingLoss:F4}, validation loss {epoch.ValidationLoss:F4}, accuracy {epoch.ValidationMetric:F3}, clipped {epoch.ClippedFraction:P0}");
        SampleConsole.Line($"kept the weights of epoch {history.BestEpoch}{(history.StoppedEarly ? " (stopped early)" : "")}");

        var metrics = mlContext.MulticlassClassification.Evaluate(model.Transform(test));
        SampleConsole.Line($"Test: MicroAccuracy {metrics.MicroAccuracy:F3}, MacroAccuracy {metrics.MacroAccuracy:F3}, LogLoss {metrics.LogLoss:F3}");
        SampleConsole.Verbose(arguments, metrics.ConfusionMatrix.GetFormattedConfusionTable());
        SampleOutput.WriteChart(arguments.OutputDirectory, history, $"{Name}, global 1.0 then 0.5 per layer", ChartThreshold.For(options.Clipping));

        return new SampleResult(
            "LSTM 24, global 1.0 then 0.5 per layer, early stopping",
            $"MicroAccuracy {metrics.MicroAccuracy:F3}, LogLoss {metrics.LogLoss:F3} (ran {history.Epochs.Count} epochs, kept {history.BestEpoch})",
            arguments.OutputDirectory);
    }

    private const int DefaultEpochs = 15;

    /// <summary>The training rows (labels as names: key them with <c>MapValueToKey("Label")</c>).</summary>
    internal static IDataView TrainingData(MLContext mlContext) => mlContext.Data.LoadFromEnumerable(MakeGestures(1200, seed: 10));

    /// <summary>The trainer options of the run, without its validation set, early stopping and callbacks.</summary>
    internal static SequenceTrainerOptions TrainerOptions(int epochs = DefaultEpochs) => new()
    {
        InputSize = Axes,
        SequenceLength = Steps,
        CellType = RecurrentCellType.Lstm,
        HiddenSize = 24,
        MaximumNumberOfEpochs = epochs,
        LearningRate = 0.01,
        Clipping = new GradientClippingOptions
        {
            Mode = ClippingMode.GlobalThenLocal,
            Threshold = 1.0,
            LocalThreshold = 0.5,
            LocalScope = LocalNormScope.Layer,
        },
    };

    private static List<Gesture> MakeGestures(int count, int seed)
    {
        var random = new Random(seed);
        var rows = new List<Gesture>(count);
        for (int n = 0; n < count; n++)
        {
            int kind = random.Next(Gestures.Length);
            double phase = random.NextDouble() * 2 * Math.PI, speed = 0.3 + 0.2 * random.NextDouble();
            var features = random.NextNoise(Steps * Axes, scale: 1.2);
            for (int t = 0; t < Steps; t++)
            {
                double a = phase + speed * t;
                var (x, y, z) = kind switch
                {
                    0 => (Math.Cos(a), Math.Sin(a), 0.0),                       // circle in the x-y plane
                    1 => (2 * Math.Sign(Math.Sin(3 * a)), 0.0, 0.0),            // shake along x
                    2 => (0.0, 0.0, (double)t / Steps * 2 - 1),                 // slow tilt: z ramps up
                    _ => (0.0, 0.0, 0.0),                                       // still: noise only
                };
                features[t * Axes] += (float)x;
                features[t * Axes + 1] += (float)y;
                features[t * Axes + 2] += (float)z;
            }
            rows.Add(new Gesture { Features = features, Label = Gestures[kind] });
        }
        return rows;
    }
}
