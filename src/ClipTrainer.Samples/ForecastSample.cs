using System.Globalization;
using ClipTrainer.Samples.Tasks;
using Microsoft.ML;
using Microsoft.ML.Data;

namespace ClipTrainer.Samples;

/// <summary>
/// Forecasting a real series one month ahead (<see cref="ForecastTask"/>: R's Mauna Loa <c>co2</c>, 1959–1997): an
/// LSTM reads the last 24 monthly changes and predicts the next, trained on 1959–1987 and scored on 1988–1997, clipped
/// and unclipped, beside the persistence forecast (ŷₜ = yₜ₋₁) on the same months, with ML.NET's regression evaluator.
/// </summary>
/// <remarks>
/// Arguments: <c>--epochs N</c> (default the recipe's 60), <c>--verbose</c> (a line per epoch), <c>--out DIR</c> (each
/// run's history, TensorBoard files and chart in <c>DIR/clipped/</c> and <c>DIR/unclipped/</c>).
/// </remarks>
public static class ForecastSample
{
    /// <summary>The scenario's name on the command line.</summary>
    public const string Name = ForecastTask.Name;

    /// <summary>Runs the sample.</summary>
    /// <param name="args">The arguments after the sample's name.</param>
    /// <returns>What was trained, the held-out result and where the outputs went.</returns>
    public static SampleResult Run(string[] args)
    {
        var arguments = SampleArguments.Parse(Name, args, SampleArguments.Epochs);
        var task = new ForecastTask();
        var mlContext = new MLContext(seed: 0);
        var (train, test) = task.LoadData(mlContext);
        SampleConsole.Line($"{task.Source}");
        SampleConsole.Line(string.Create(CultureInfo.InvariantCulture,
            $"Train: {train.GetRowCount()} windows predicting 1961-02 to 1987-12; test: {test.GetRowCount()} months, 1988-01 to 1997-12. " +
            $"Inputs: the last {ForecastTask.WindowLength} monthly changes, minus {task.ChangeMean:F3} ppm, divided by {task.ChangeDeviation:F3} ppm (training months' statistics)."));

        var runs = RecipeRuns.TrainBoth(Name, "LSTM 32", task.CreateOptions,
            options => mlContext.Regression.Trainers.ClipTrainer(options).Fit(train), arguments);

        var results = runs.Select(r => (Run: r, Metrics: task.Evaluate(mlContext, r.Model, test))).ToList();
        var persistence = results[0].Metrics.Persistence;
        SampleConsole.Line();
        SampleConsole.Line($"Test, {test.GetRowCount()} months (1988–1997), levels in ppm:");
        SampleConsole.Line($"{"forecast",-28} {"RMSE",7} {"MAE",7} {"R²",8} {"R² of change",13} {"clipped",8} {"seconds",8}");
        SampleConsole.Line(Row("persistence ŷₜ = yₜ₋₁", persistence, results[0].Metrics.PersistenceChangeRSquared, "", ""));
        foreach (var (run, metrics) in results)
            SampleConsole.Line(Row($"LSTM 32, {RecipeRuns.Describe(run.Options.Clipping)}", metrics.Model, metrics.ModelChangeRSquared,
                run.ClippedFraction.ToString("P0", CultureInfo.InvariantCulture), run.WallTime.TotalSeconds.ToString("F1", CultureInfo.InvariantCulture)));
        var clipped = results[0].Metrics;
        SampleConsole.Line(string.Create(CultureInfo.InvariantCulture,
            $"Clipped LSTM RMSE ÷ persistence RMSE: {clipped.Model.RootMeanSquaredError / persistence.RootMeanSquaredError:F3} ({(clipped.BeatsPersistence ? "beats" : "does not beat")} persistence)."));

        return new SampleResult(
            $"LSTM 32 on 24 monthly changes, {RecipeRuns.Describe(runs[0].Options.Clipping)} vs unclipped, {runs[0].History.Epochs.Count} epochs",
            string.Create(CultureInfo.InvariantCulture,
                $"RMSE {clipped.Model.RootMeanSquaredError:F3} / unclipped {results[1].Metrics.Model.RootMeanSquaredError:F3} vs persistence {persistence.RootMeanSquaredError:F3} ppm"),
            arguments.OutputDirectory);
    }

    private static string Row(string name, RegressionMetrics metrics, double changeRSquared, string clipped, string seconds) =>
        string.Create(CultureInfo.InvariantCulture,
            $"{name,-28} {metrics.RootMeanSquaredError,7:F3} {metrics.MeanAbsoluteError,7:F3} {metrics.RSquared,8:F4} {changeRSquared,13:F3} {clipped,8} {seconds,8}");
}
