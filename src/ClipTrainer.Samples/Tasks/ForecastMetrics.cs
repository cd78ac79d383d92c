using Microsoft.ML.Data;

namespace ClipTrainer.Samples.Tasks;

/// <summary>
/// A forecast's test metrics beside persistence's (ŷₜ = yₜ₋₁) on the same months. On the levels every forecast that
/// follows the trend has an R² near 1; the R² of the monthly change (dₜ = yₜ − yₜ₋₁, forecast d̂ₜ = ŷₜ − yₜ₋₁) shows how
/// much of the month-to-month movement it explains (persistence forecasts a change of 0). The errors, and so RMSE and
/// MAE, are the same on both scales.
/// </summary>
/// <param name="Model">The model's forecast, ŷₜ = yₜ₋₁ + d̂ₜ, on the levels.</param>
/// <param name="Persistence">The persistence forecast on the levels.</param>
/// <param name="ModelChangeRSquared">The R² of the model's forecast change.</param>
/// <param name="PersistenceChangeRSquared">The R² of persistence's forecast change (0 every month): slightly below 0.</param>
public sealed record ForecastMetrics(RegressionMetrics Model, RegressionMetrics Persistence, double ModelChangeRSquared, double PersistenceChangeRSquared)
{
    /// <summary>Gets whether the model's RMSE is below persistence's.</summary>
    public bool BeatsPersistence => ForecastTask.IsGood(Model.RootMeanSquaredError, Persistence.RootMeanSquaredError);
}
