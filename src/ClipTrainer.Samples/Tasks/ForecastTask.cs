using System.Globalization;
using ClipTrainer.Clipping;
using ClipTrainer.Data;
using ClipTrainer.Modeling;
using ClipTrainer.Training;
using Microsoft.ML;
using Microsoft.ML.Data;

namespace ClipTrainer.Samples.Tasks;

/// <summary>
/// Forecasting a real monthly series one month ahead: R's <c>co2</c> (Mauna Loa atmospheric CO₂, ppm, January 1959 to
/// December 1997, 468 months; Keeling and Whorf, Scripps Institution of Oceanography), exported once to
/// <c>Data/co2.csv</c> (provenance in <c>Data/README.md</c>). The last <see cref="TestMonths"/> months are the future:
/// the model trains on windows that end before them and is scored on predicting each of them from the months before.
/// </summary>
/// <remarks>
/// The model sees the monthly change, not the level: <c>dₜ = yₜ − yₜ₋₁</c>, centred and scaled by the mean and standard
/// deviation of the training months' changes. Each row's <c>Features</c> are the <see cref="WindowLength"/> scaled
/// changes before month t and its <c>Label</c> the scaled change into month t; the forecast is
/// <c>ŷₜ = yₜ₋₁ + d̂ₜ</c>. Why: the level only grows (a network fitted on 1959–1987 levels never saw 1988–1997's), while
/// the changes repeat the seasonal cycle; persistence (ŷₜ = yₜ₋₁) is the forecast of a change of 0, so the two are
/// compared on the same footing. Rows also carry <c>Previous</c> (yₜ₋₁) and <c>Actual</c> (yₜ) in ppm.
/// </remarks>
public sealed class ForecastTask
{
    /// <summary>The task's name on the command line.</summary>
    public const string Name = "forecast";

    /// <summary>The number of months at the end of the series held out as the future (1988–1997).</summary>
    public const int TestMonths = 120;

    /// <summary>The number of past monthly changes the model reads per forecast (two seasonal cycles).</summary>
    public const int WindowLength = 24;

    private readonly float[] _levels;
    private readonly float _mean, _deviation;

    /// <summary>Reads the series from its CSV file.</summary>
    /// <param name="path">The CSV (header <c>Year,Month,Co2</c>); by default <c>Data/co2.csv</c> beside the samples.</param>
    /// <exception cref="FileNotFoundException">The file does not exist.</exception>
    /// <exception cref="InvalidDataException">
    /// A line is not <c>year,month,value</c>, the series is too short to split, or its training months all change by the same amount.
    /// </exception>
    public ForecastTask(string? path = null)
    {
        Path = path ?? System.IO.Path.Combine(AppContext.BaseDirectory, "Data", "co2.csv");
        _levels = ReadSeries(Path);
        if (_levels.Length < TestMonths + 2 * WindowLength + 2)
            throw new InvalidDataException($"'{Path}' holds {_levels.Length} months, fewer than the {TestMonths + 2 * WindowLength + 2} the split needs.");
        // Statistics of the training months' changes only: the future's never shape the inputs.
        var trainChanges = Changes[..(FirstTestMonth - 1)];
        _mean = trainChanges.Average();
        _deviation = (float)Math.Sqrt(trainChanges.Average(c => (c - _mean) * (c - _mean)));
        if (!(_deviation > 0))
            throw new InvalidDataException($"'{Path}': every training month changes by {_mean} (standard deviation 0), so the changes cannot be scaled. Use a series that varies.");
    }

    /// <summary>Gets the CSV file the series was read from.</summary>
    public string Path { get; }

    /// <summary>Gets where the data comes from, for reports.</summary>
    public string Source =>
        "R 4.2.2 datasets::co2, Mauna Loa atmospheric CO2 (ppm), monthly 1959-1997 (Keeling & Whorf, Scripps Institution of Oceanography), Data/co2.csv";

    /// <summary>Gets the prediction task: regression.</summary>
    public SequenceTask Task => SequenceTask.Regression;

    /// <summary>Gets the metric the task is judged by: the RMSE of the forecast level in ppm on the test months.</summary>
    public string MetricName => "RMSE (ppm)";

    /// <summary>Gets the criterion of a good run, in words.</summary>
    public string GoodCriterion => "test RMSE below the persistence forecast's (ŷₜ = yₜ₋₁) on the same months";

    /// <summary>Gets the months of the series (ppm), oldest first.</summary>
    public IReadOnlyList<float> Levels => _levels;

    /// <summary>Gets the index in <see cref="Levels"/> of the first test month.</summary>
    public int FirstTestMonth => _levels.Length - TestMonths;

    /// <summary>Gets the centre of the scaled changes: the mean monthly change of the training months (ppm).</summary>
    public float ChangeMean => _mean;

    /// <summary>Gets the unit of the scaled changes: the standard deviation of the training months' changes (ppm).</summary>
    public float ChangeDeviation => _deviation;

    private float[] Changes => [.. _levels.Skip(1).Select((y, i) => y - _levels[i])];

    /// <summary>Whether a run's test RMSE meets <see cref="GoodCriterion"/>.</summary>
    /// <param name="rmse">The model's test RMSE (ppm).</param>
    /// <param name="persistenceRmse">The persistence forecast's RMSE on the same rows (ppm).</param>
    public static bool IsGood(double rmse, double persistenceRmse) => rmse < persistenceRmse;

    /// <summary>Makes the training and test windows as data views for the regression trainer.</summary>
    /// <param name="mlContext">The ML.NET context.</param>
    /// <param name="trainRows">How many training windows to keep (the most recent ones), or null for all.</param>
    /// <param name="testRows">How many test windows to keep (the first months of the future), or null for all 120.</param>
    /// <param name="seed">Unused: the split is by time and nothing is sampled; present so every task is called alike.</param>
    /// <returns>The training and the test data, each in time order.</returns>
    /// <exception cref="ArgumentOutOfRangeException">A row limit is below 1.</exception>
    public (IDataView Train, IDataView Test) LoadData(MLContext mlContext, int? trainRows = null, int? testRows = null, int seed = 0)
    {
        ArgumentNullException.ThrowIfNull(mlContext);
        if (trainRows is < 1) throw new ArgumentOutOfRangeException(nameof(trainRows), trainRows, $"trainRows must be at least 1 (or null for all), got {trainRows}.");
        if (testRows is < 1) throw new ArgumentOutOfRangeException(nameof(testRows), testRows, $"testRows must be at least 1 (or null for all), got {testRows}.");
        var (train, test) = Windows();
        var keptTrain = trainRows is int t && t < train.Count ? train.Skip(train.Count - t) : train;
        var keptTest = testRows is int s && s < test.Count ? test.Take(s) : test;
        return (mlContext.Data.LoadFromEnumerable(keptTrain.Select(ToRow).ToList()),
                mlContext.Data.LoadFromEnumerable(keptTest.Select(ToRow).ToList()));
    }

    /// <summary>
    /// The windows over the scaled changes, split by time. Window targets index the changes: change k is the move into
    /// month k + 1, so the first test month's change has index <see cref="FirstTestMonth"/> − 1.
    /// </summary>
    internal (IReadOnlyList<SeriesWindows.Window> Train, IReadOnlyList<SeriesWindows.Window> Test) Windows()
    {
        var scaled = Changes.Select(c => (c - _mean) / _deviation).ToArray();
        return SeriesWindows.SplitByTime(SeriesWindows.Create(scaled, WindowLength), FirstTestMonth - 1);
    }

    /// <summary>
    /// The recipe: trainer options for a clipped LSTM on this task (the unclipped run of the same recipe sets
    /// <c>Clipping.Mode = ClippingMode.None</c>). A new object on every call.
    /// </summary>
    public SequenceTrainerOptions CreateOptions() => new()
    {
        InputSize = 1,
        SequenceLength = WindowLength,
        CellType = RecurrentCellType.Lstm,
        HiddenSize = 32,
        LearningRate = 5e-3,
        Schedule = LearningRateSchedule.OneCycle,
        BatchSize = 16,
        MaximumNumberOfEpochs = 60,
        NumberOfThreads = 1,
        Seed = 1,
        Clipping = new GradientClippingOptions { Mode = ClippingMode.GlobalNorm, Threshold = 1.0 },
    };

    /// <summary>
    /// Scores a fitted model on test windows and puts its forecast (ŷₜ = yₜ₋₁ + d̂ₜ) beside persistence (ŷₜ = yₜ₋₁),
    /// both evaluated by ML.NET's regression evaluator on the same months, in ppm.
    /// </summary>
    /// <param name="mlContext">The ML.NET context.</param>
    /// <param name="model">The fitted regression trainer (or a pipeline ending in it).</param>
    /// <param name="test">Test windows from <see cref="LoadData"/>.</param>
    /// <returns>The model's and persistence's metrics on the forecast levels, and the R² of their forecast changes.</returns>
    public ForecastMetrics Evaluate(MLContext mlContext, ITransformer model, IDataView test)
    {
        var scored = model.Transform(test);
        var scores = scored.GetColumn<float>("Score").ToArray();
        var previous = test.GetColumn<float>(nameof(Month.Previous)).ToArray();
        var actual = test.GetColumn<float>(nameof(Month.Actual)).ToArray();
        var change = scores.Select(s => _mean + _deviation * s).ToArray();
        var forecast = change.Select((c, i) => previous[i] + c).ToArray();
        var actualChange = actual.Select((a, i) => a - previous[i]).ToArray();
        return new ForecastMetrics(
            EvaluateLevels(mlContext, actual, forecast), EvaluateLevels(mlContext, actual, previous),
            EvaluateLevels(mlContext, actualChange, change).RSquared, EvaluateLevels(mlContext, actualChange, new float[actual.Length]).RSquared);
    }

    /// <summary>ML.NET's regression metrics of forecasts against the actual values.</summary>
    /// <param name="mlContext">The ML.NET context.</param>
    /// <param name="actual">The actual values.</param>
    /// <param name="forecast">The forecasts, one per actual value.</param>
    internal static RegressionMetrics EvaluateLevels(MLContext mlContext, IReadOnlyList<float> actual, IReadOnlyList<float> forecast)
    {
        if (actual.Count != forecast.Count)
            throw new ArgumentException($"Got {forecast.Count} forecasts for {actual.Count} actual values; they must pair up.", nameof(forecast));
        var rows = actual.Select((a, i) => new Scored { Label = a, Score = forecast[i] });
        return mlContext.Regression.Evaluate(mlContext.Data.LoadFromEnumerable(rows));
    }

    private Month ToRow(SeriesWindows.Window window) => new()
    {
        Features = window.Inputs,
        Label = window.Label,
        // Change k moves month k into month k + 1.
        Previous = _levels[window.Target],
        Actual = _levels[window.Target + 1],
    };

    private static float[] ReadSeries(string path)
    {
        if (!File.Exists(path)) throw new FileNotFoundException($"The series file '{path}' does not exist.", path);
        var values = new List<float>();
        int number = 0;
        foreach (var line in File.ReadLines(path))
        {
            if (number++ == 0 || line.Length == 0) continue;   // the header
            var fields = line.Split(',');
            if (fields.Length != 3 || !float.TryParse(fields[2], NumberStyles.Float, CultureInfo.InvariantCulture, out var value) || !float.IsFinite(value))
                throw new InvalidDataException($"'{path}' line {number} is '{line}', expected year,month,value with a finite value.");
            values.Add(value);
        }
        return [.. values];
    }

    /// <summary>One forecast row as the trainer reads it, with the levels around it for the evaluation.</summary>
    private sealed class Month
    {
        [VectorType(WindowLength)]
        public float[] Features { get; set; } = [];

        public float Label { get; set; }

        public float Previous { get; set; }

        public float Actual { get; set; }
    }

    private sealed class Scored
    {
        public float Label { get; set; }

        public float Score { get; set; }
    }
}
