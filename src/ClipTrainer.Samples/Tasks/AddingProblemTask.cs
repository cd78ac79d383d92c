using ClipTrainer.Clipping;
using ClipTrainer.Data;
using ClipTrainer.Modeling;
using ClipTrainer.Training;
using Microsoft.ML;
using Microsoft.ML.Data;

namespace ClipTrainer.Samples.Tasks;

/// <summary>
/// The adding problem in its sum form (Arjovsky, Shah &amp; Bengio 2016, "Unitary Evolution Recurrent Neural Networks",
/// §4.2, after Hochreiter &amp; Schmidhuber 1997): T steps of 2 channels, a value ~ U[0, 1] and a marker that is 1 at
/// exactly two steps, one in each half; the target is the sum of the two marked values. Predicting 1 (the mean) gives
/// MSE = Var(X + Y) = 1/6 ≈ 0.167, the baseline a model must beat; solved is test MSE ≤ 0.01 on 1,000 fresh sequences.
/// </summary>
internal static class AddingProblemTask
{
    public const int Channels = 2;
    public const int TrainingRows = 10_000;
    public const int TestRows = 1_000;

    /// <summary>The MSE of always predicting 1: Var(U₁ + U₂) = 2 · 1/12.</summary>
    public const double BaselineMeanSquaredError = 1.0 / 6;

    public static readonly ComparisonTask Task = new(
        "adding",
        "adding problem, sum form (Arjovsky et al. 2016, §4.2; Hochreiter & Schmidhuber 1997): 2 channels, target = sum of the 2 marked values; predicting 1 gives MSE 0.167",
        SequenceTask.Regression,
        DefaultLength: 50,
        MakeData: (mlContext, request) => new TaskData(
            TaskDataViews.Load(mlContext, Rows(TrainingRows, request.Length, request.Seed), request.Length * Channels),
            TaskDataViews.Load(mlContext, Rows(TestRows, request.Length, request.Seed + 1), request.Length * Channels)),
        BaseOptions: request => Options(request.Length),
        Solved: new SolvedCriterion("test MSE ≤ 0.01", e => e.ValidationLoss <= 0.01));

    /// <summary>LSTM 64 with Adam at 0.01, constant rate, batch 50 (200 steps per epoch); at 0.003 no run left the 0.167 plateau in 1,600 steps at T = 100.</summary>
    public static SequenceTrainerOptions Options(int length) => new()
    {
        InputSize = Channels,
        SequenceLength = length,
        CellType = RecurrentCellType.Lstm,
        HiddenSize = 64,
        LearningRate = 0.01,
        Schedule = LearningRateSchedule.Constant,
        BatchSize = 50,
        MaximumNumberOfEpochs = 2, // the default run is a short one (minutes); the measured runs pass --epochs
        NumberOfThreads = 1,
        Clipping = new GradientClippingOptions { NonFinitePolicy = NonFiniteGradientPolicy.SkipStep },
    };

    /// <summary>One sequence: time-major, (value, marker) per step.</summary>
    public sealed class Row
    {
        /// <summary>T × 2 values, time-major (typed as a known-size vector when loaded, see <see cref="TaskDataViews"/>).</summary>
        public float[] Features { get; set; } = [];

        /// <summary>The sum of the two marked values.</summary>
        public float Label { get; set; }
    }

    /// <summary>Makes <paramref name="count"/> sequences of length <paramref name="length"/> from a seeded generator.</summary>
    /// <exception cref="SampleArgumentException"><paramref name="length"/> is below 2 (each half needs a marker).</exception>
    public static List<Row> Rows(int count, int length, int seed)
    {
        if (length < 2) throw new SampleArgumentException($"adding: --length must be at least 2 (a marker in each half), got {length}. Fix: --length 100.");
        var random = new Random(seed);
        var rows = new List<Row>(count);
        int half = length / 2;
        for (int n = 0; n < count; n++)
        {
            var features = new float[length * Channels];
            for (int t = 0; t < length; t++) features[t * Channels] = (float)random.NextDouble();
            int first = random.Next(0, half), second = random.Next(half, length);
            features[first * Channels + 1] = 1;
            features[second * Channels + 1] = 1;
            rows.Add(new Row { Features = features, Label = features[first * Channels] + features[second * Channels] });
        }

        return rows;
    }
}
