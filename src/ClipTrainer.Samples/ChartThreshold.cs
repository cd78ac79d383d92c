using System.Globalization;
using ClipTrainer.Clipping;

namespace ClipTrainer.Samples;

/// <summary>The horizontal line of a chart's norm panel: the clipping threshold and how to read it.</summary>
/// <param name="Value">The threshold.</param>
/// <param name="Label">The line's label.</param>
internal sealed record ChartThreshold(double Value, string Label)
{
    /// <summary>
    /// The line for a run clipped with <paramref name="clipping"/>: the global threshold for the global-norm modes, the
    /// per-group threshold (which the global norm may exceed) for local norms, none where no norm is clipped.
    /// </summary>
    /// <param name="clipping">The run's clipping options.</param>
    public static ChartThreshold? For(GradientClippingOptions clipping) => clipping.Mode switch
    {
        ClippingMode.GlobalNorm or ClippingMode.GlobalThenLocal =>
            new(clipping.Threshold, string.Create(CultureInfo.InvariantCulture, $"threshold {clipping.Threshold}")),
        ClippingMode.LocalNorm =>
            new(clipping.Threshold, string.Create(CultureInfo.InvariantCulture, $"threshold {clipping.Threshold} per {clipping.LocalScope.ToString().ToLowerInvariant()}")),
        _ => null,
    };
}
