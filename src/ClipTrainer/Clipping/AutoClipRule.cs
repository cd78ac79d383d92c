using System.Globalization;
using static TorchSharp.torch;

namespace ClipTrainer.Clipping;

/// <summary>
/// AutoClip (Seetharaman, Wichern, Pardo, Le Roux, MLSP 2020, arXiv:2007.14469): each step, the pre-clip global norm
/// ‖g‖ is appended to the history H, then g ← g · min(1, τ / (‖g‖ + 1e-6)) with τ the p-th percentile of H (NumPy's
/// linear interpolation; the paper's p = 10).
/// </summary>
/// <remarks>
/// <para><b>Bounded history.</b> The authors keep every norm of the run; this rule keeps the latest
/// <see cref="Window"/> norms in a ring buffer on the device. For the first <see cref="Window"/> steps τ is exactly the
/// authors' percentile. Later it is the exact percentile of the last <see cref="Window"/> norms, which follows the norms
/// as they drift (the unbounded list answers ever more slowly); for norms from a stationary distribution, the window's
/// percentile lies, with 95% probability, between the distribution's p ± 1.96·√(p(1 − p)/W) quantiles (p as a fraction,
/// W the window): for p = 10% and W = 1,000, between its 8.1th and 11.9th percentiles (the bound is tested on uniform norms, with W = 200).</para>
/// <para><b>On the device.</b> The step count is kept on the host (it needs no read), so the interpolation's ranks are
/// host numbers; the norm is written into the buffer, the filled part sorted and the two ranks interpolated with
/// tensor operations: no host read per step. The coefficient is applied unconditionally.</para>
/// <para><b>State</b> (<see cref="ExportState"/>): <c>history</c>, float64 [<see cref="Window"/>], and <c>count</c>, the
/// number of norms seen (int64). The stage is one group, <c>(global)</c>; it is clipped when ‖g‖ &gt; τ.</para>
/// </remarks>
public sealed class AutoClipRule : IGradientClippingRule
{
    private Tensor? _history;
    private long _count;

    /// <summary>Creates the rule.</summary>
    /// <param name="percentile">p. Range: (0, 100]. Default: 10.</param>
    /// <param name="window">How many latest norms the history keeps. Range: [1, 1,000,000]. Default: 1,000.</param>
    /// <param name="normType">p of the norm: ≥ 1 or +∞. Default: 2.</param>
    /// <exception cref="ArgumentOutOfRangeException">An argument is out of range.</exception>
    public AutoClipRule(
        double percentile = GradientClippingDefaults.AutoClipPercentile,
        int window = GradientClippingDefaults.AutoClipWindow,
        double normType = GradientClippingDefaults.NormType)
    {
        ClippingArguments.CheckPercentile(percentile, nameof(percentile));
        ClippingArguments.CheckCount(window, GradientClippingOptions.MaximumAutoClipWindow, nameof(window));
        ClippingArguments.CheckNormType(normType, nameof(normType));
        Percentile = percentile;
        Window = window;
        NormType = normType;
    }

    /// <summary>Gets the percentile p of the history at which the global norm is clipped.</summary>
    public double Percentile { get; }

    /// <summary>Gets how many latest norms the history keeps.</summary>
    public int Window { get; }

    /// <summary>Gets p of the norm.</summary>
    public double NormType { get; }

    /// <inheritdoc/>
    public string Name => "AutoClip";

    /// <inheritdoc/>
    public IReadOnlyList<GradientClipStage> Apply(GradientClipContext context)
    {
        ArgumentNullException.ThrowIfNull(context);
        using var noGrad = no_grad();
        var total = context.TotalNorm(NormType);
        _history ??= zeros(Window, ScalarType.Float64, total.device).DetachFromDisposeScope();
        _history[_count % Window] = total.to(ScalarType.Float64, _history.device);
        _count++;

        var filled = (int)Math.Min(_count, Window);
        var sorted = _history.narrow(0, 0, filled).sort().Values;
        var rank = (filled - 1) * Percentile / 100.0;
        var low = (long)Math.Floor(rank);
        var high = Math.Min(low + 1, filled - 1);
        var threshold = sorted[low] + (sorted[high] - sorted[low]) * (rank - low);
        return [ThresholdScaling.Clip(Name, context, total, threshold.to(total.dtype, total.device))];
    }

    /// <inheritdoc/>
    public Dictionary<string, Tensor> ExportState()
    {
        var history = _history?.clone() ?? zeros(Window, ScalarType.Float64);
        return new Dictionary<string, Tensor>(StringComparer.Ordinal)
        {
            [HistoryKey] = history.DetachFromDisposeScope(),
            [CountKey] = tensor(_count).DetachFromDisposeScope(),
        };
    }

    /// <inheritdoc/>
    public void ImportState(IReadOnlyDictionary<string, Tensor> state)
    {
        ArgumentNullException.ThrowIfNull(state);
        RuleState.CheckKeys(Name, state, HistoryKey, CountKey);
        var history = state[HistoryKey];
        if (history.dim() != 1 || history.shape[0] != Window)
            throw new ArgumentException(string.Create(CultureInfo.InvariantCulture,
                $"The rule '{Name}' keeps a history of {Window} norms, but the state's {HistoryKey} has shape [{string.Join(", ", history.shape)}]."), nameof(state));
        var count = state[CountKey].item<long>();
        if (count < 0)
            throw new ArgumentException(string.Create(CultureInfo.InvariantCulture, $"The rule '{Name}' state's {CountKey} must be >= 0, but was {count}."), nameof(state));

        _history?.Dispose();
        _history = history.to(ScalarType.Float64).clone().DetachFromDisposeScope();
        _count = count;
    }

    private const string HistoryKey = "history";
    private const string CountKey = "count";
}
