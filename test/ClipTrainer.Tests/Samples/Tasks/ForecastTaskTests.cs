using System.Globalization;
using ClipTrainer.Samples.Tasks;
using Microsoft.ML;
using Microsoft.ML.Data;
using Xunit;

namespace ClipTrainer.Tests.Samples.Tasks;

/// <summary>The forecast task on hand series: the time split, its statistics, and the persistence baseline.</summary>
public sealed class ForecastTaskTests : IDisposable
{
    // 201 months alternating changes of +1 and +3 from 100: 100, 101, 104, 105, 108, ...; the 81 training months
    // hold 80 changes, 40 of each, so their mean is 2 and their standard deviation 1.
    private const int Months = 201;
    private readonly string _directory = Directory.CreateTempSubdirectory("forecast-tests-").FullName;

    public void Dispose() => Directory.Delete(_directory, recursive: true);

    [Fact]
    public void Windows_NeverReadTheFuture_AndTheTestPredictsEveryFutureMonth()
    {
        var task = new ForecastTask(WriteSeries("series.csv", Alternating()));

        var (train, test) = task.Windows();

        Assert.Equal(Months - ForecastTask.TestMonths, task.FirstTestMonth);
        // Change k moves month k into month k + 1: train windows predict (and read) months before the first test month.
        Assert.All(train, w => Assert.True(w.Target + 1 < task.FirstTestMonth));
        Assert.Equal(Enumerable.Range(task.FirstTestMonth, ForecastTask.TestMonths), test.Select(w => w.Target + 1));
        Assert.Equal(Months - 1 - ForecastTask.WindowLength - ForecastTask.TestMonths, train.Count);
    }

    [Fact]
    public void LoadData_TrainingRowsAndScaling_DoNotDependOnTheFuture()
    {
        var levels = Alternating();
        var changed = levels.ToArray();
        for (int t = Months - ForecastTask.TestMonths; t < Months; t++) changed[t] = 1000 + 7 * t * (t % 3);   // another future
        var mlContext = new MLContext(seed: 0);

        var (train, _) = new ForecastTask(WriteSeries("a.csv", levels)).LoadData(mlContext);
        var (trainOtherFuture, _) = new ForecastTask(WriteSeries("b.csv", changed)).LoadData(mlContext);

        Assert.Equal(Features(train), Features(trainOtherFuture));
        Assert.Equal(train.GetColumn<float>("Label"), trainOtherFuture.GetColumn<float>("Label"));
    }

    [Fact]
    public void Scaling_UsesTheTrainingChanges_MeanTwoDeviationOne()
    {
        var task = new ForecastTask(WriteSeries("series.csv", Alternating()));

        Assert.Equal(2f, task.ChangeMean, 1e-4f);
        Assert.Equal(1f, task.ChangeDeviation, 1e-4f);
        var (train, _) = task.Windows();
        Assert.All(train.SelectMany(w => w.Inputs), v => Assert.Equal(1f, Math.Abs(v), 1e-4f));   // (1 − 2) / 1 and (3 − 2) / 1
    }

    [Fact]
    public void Evaluate_PutsTheForecastBesidePersistence_OnTheSameMonths()
    {
        var task = new ForecastTask(WriteSeries("series.csv", Alternating()));
        var mlContext = new MLContext(seed: 0);
        var (_, test) = task.LoadData(mlContext);
        // A "model" whose scaled change is always 0: it forecasts the mean change, yₜ₋₁ + 2.
        var meanChange = mlContext.Transforms.CustomMapping<LabelOnly, ScoreOnly>((_, output) => output.Score = 0f, contractName: null).Fit(test);

        var metrics = task.Evaluate(mlContext, meanChange, test);

        // Persistence misses by the change itself, alternately 1 and 3: RMSE √((1 + 9) / 2) = √5, MAE 2.
        Assert.Equal(Math.Sqrt(5), metrics.Persistence.RootMeanSquaredError, 1e-4);
        Assert.Equal(2, metrics.Persistence.MeanAbsoluteError, 1e-4);
        // The mean-change forecast misses by 1 every month.
        Assert.Equal(1, metrics.Model.RootMeanSquaredError, 1e-4);
        Assert.Equal(1, metrics.Model.MeanAbsoluteError, 1e-4);
        // Changes: forecasting their mean explains nothing (R² 0); forecasting 0 leaves Σd² = 5n against Σ(d − 2)² = n.
        Assert.Equal(0, metrics.ModelChangeRSquared, 1e-4);
        Assert.Equal(-4, metrics.PersistenceChangeRSquared, 1e-4);
        Assert.True(metrics.BeatsPersistence);
    }

    [Fact]
    public void EvaluateLevels_GivesPersistenceMetrics_OfAHandCase()
    {
        // Series 1, 2, 4, 7: persistence forecasts 1, 2, 4 for 2, 4, 7; errors 1, 2, 3.
        var metrics = ForecastTask.EvaluateLevels(new MLContext(seed: 0), [2f, 4f, 7f], [1f, 2f, 4f]);

        Assert.Equal(Math.Sqrt(14.0 / 3), metrics.RootMeanSquaredError, 1e-5);
        Assert.Equal(2, metrics.MeanAbsoluteError, 1e-5);
        // Σ(y − ȳ)² with ȳ = 13/3: 49/9 + 1/9 + 64/9 = 114/9.
        Assert.Equal(1 - 14 / (114.0 / 9), metrics.RSquared, 1e-5);
    }

    [Fact]
    public void Constructor_Throws_NamingTheLine_OfABadValue()
    {
        var path = Path.Combine(_directory, "bad.csv");
        File.WriteAllLines(path, ["Year,Month,Co2", "1959,1,315.42", "1959,2,n/a"]);

        var exception = Assert.Throws<InvalidDataException>(() => new ForecastTask(path));

        Assert.Contains("line 3 is '1959,2,n/a'", exception.Message);
    }

    [Fact]
    public void Constructor_ReadsTheShippedSeries_Co2From1959To1997()
    {
        var task = new ForecastTask();

        Assert.Equal(468, task.Levels.Count);
        Assert.Equal(315.42f, task.Levels[0]);     // January 1959, as R prints head(co2)
        Assert.Equal(364.34f, task.Levels[^1]);    // December 1997
        Assert.Equal(348, task.FirstTestMonth);    // January 1988
    }

    private static float[] Alternating()
    {
        var levels = new float[Months];
        levels[0] = 100;
        for (int t = 1; t < Months; t++) levels[t] = levels[t - 1] + (t % 2 == 1 ? 1 : 3);
        return levels;
    }

    private string WriteSeries(string name, IReadOnlyList<float> levels)
    {
        var path = Path.Combine(_directory, name);
        File.WriteAllLines(path, levels.Select((y, t) => string.Create(CultureInfo.InvariantCulture, $"{1900 + t / 12},{t % 12 + 1},{y}")).Prepend("Year,Month,Co2"));
        return path;
    }

    private static float[] Features(IDataView data) =>
        [.. data.GetColumn<VBuffer<float>>("Features").SelectMany(v => v.DenseValues())];

    private sealed class LabelOnly
    {
        public float Label { get; set; }
    }

    private sealed class ScoreOnly
    {
        public float Score { get; set; }
    }
}
