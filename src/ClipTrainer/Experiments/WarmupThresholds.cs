using System.Globalization;
using ClipTrainer.Clipping;

namespace ClipTrainer.Experiments;

/// <summary>The default configurations from the warm-up's percentiles (see <see cref="ClippingComparison.DefaultConfigurations"/>).</summary>
internal static class WarmupThresholds
{
    public static IReadOnlyList<ClippingConfiguration> Configurations(WarmupNorms norms, NonFiniteGradientPolicy policy)
    {
        CheckMeasured(norms);
        var configurations = new List<ClippingConfiguration>();
        foreach (var mode in Enum.GetValues<ClippingMode>().Where(m => m != ClippingMode.Custom))
        {
            foreach (var (name, options) in ForMode(mode, norms))
            {
                options.NonFinitePolicy = policy;
                configurations.Add(new ClippingConfiguration(name, options));
            }
        }

        return configurations;
    }

    /// <summary>
    /// The one place that maps a mode to the warm-up quantity its threshold comes from; a mode this does not know (added
    /// after it was written) runs with its own default options, so it still appears in the comparison.
    /// </summary>
    private static IEnumerable<(string Name, GradientClippingOptions Options)> ForMode(ClippingMode mode, WarmupNorms n) => mode switch
    {
        ClippingMode.None => [("None", new() { Mode = mode })],
        ClippingMode.GlobalNorm =>
        [
            ($"GlobalNorm L2 ≤ {F(n.GlobalL2)}", new() { Mode = mode, Threshold = n.GlobalL2, NormType = 2 }),
            ($"GlobalNorm L1 ≤ {F(n.GlobalL1)}", new() { Mode = mode, Threshold = n.GlobalL1, NormType = 1 }),
            ($"GlobalNorm L∞ ≤ {F(n.GlobalMaximum)}", new() { Mode = mode, Threshold = n.GlobalMaximum, NormType = double.PositiveInfinity }),
        ],
        ClippingMode.LocalNorm =>
        [
            ($"LocalNorm per parameter ≤ {F(n.ParameterL2)}", new() { Mode = mode, Threshold = n.ParameterL2, LocalScope = LocalNormScope.Parameter }),
            ($"LocalNorm per layer ≤ {F(n.LayerL2)}", new() { Mode = mode, Threshold = n.LayerL2, LocalScope = LocalNormScope.Layer }),
        ],
        ClippingMode.Value => [($"Value ±{F(n.GlobalMaximum)}", new() { Mode = mode, Threshold = n.GlobalMaximum })],
        ClippingMode.GlobalThenLocal =>
        [
            ($"GlobalThenLocal ≤ {F(n.GlobalL2)}, then ≤ {F(n.ParameterL2)} per parameter",
                new() { Mode = mode, Threshold = n.GlobalL2, LocalThreshold = n.ParameterL2, LocalScope = LocalNormScope.Parameter }),
        ],
        _ => [($"{mode} (default options)", new() { Mode = mode })],
    };

    private static void CheckMeasured(WarmupNorms n)
    {
        if (n.Steps == 0 || new[] { n.GlobalL2, n.GlobalL1, n.GlobalMaximum, n.ParameterL2, n.LayerL2 }.Any(v => !(v > 0) || !double.IsFinite(v)))
            throw new InvalidOperationException(
                $"The warm-up measured no usable gradient norm ({n.Steps} finite steps; 10th percentiles L2 {n.GlobalL2}, L1 {n.GlobalL1}, L∞ {n.GlobalMaximum}, " +
                $"per parameter {n.ParameterL2}, per layer {n.LayerL2}): every step's gradients were zero or non-finite. Lower the learning rate or " +
                "pass configurations with thresholds of your own.");
    }

    /// <summary>Three significant digits: the names show the thresholds, the options hold them exactly.</summary>
    private static string F(double value) => value.ToString("G3", CultureInfo.InvariantCulture);
}
