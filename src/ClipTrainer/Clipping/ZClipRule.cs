using System.Globalization;
using static TorchSharp.torch;

namespace ClipTrainer.Clipping;

/// <summary>
/// ZClip (Kumar, Owen, Roy Chowdhury, Güra 2025, arXiv:2504.02507): z-score spike detection on the global norm with a
/// moving mean μ and variance σ². After a warm-up, per step, z = (‖g‖ − μ)/(σ + 1e-6); when z &gt; z_thr the global norm
/// is clipped to v = μ + z_thr·σ / (z / z_thr) (<see cref="ZClipTarget.AdaptiveScaling"/>) or v = μ
/// (<see cref="ZClipTarget.Mean"/>), and to at most <see cref="MaximumNorm"/> if one is set; then
/// μ ← αμ + (1 − α)v′ and σ² ← ασ² + (1 − α)(v′ − μ)² with the new μ, where v′ = v on a spike and ‖g‖ otherwise.
/// </summary>
/// <remarks>
/// <para><b>Warm-up.</b> The first <see cref="WarmupSteps"/> norms are collected without adaptive clipping; at the
/// last of them μ and σ² start as their mean and population variance, and the next step is the first one tested. This
/// is the reference's behaviour (bluorion-com/ZClip), with one difference: the reference caps the norm at its
/// <c>max_grad_norm</c> (default 1.0) during the warm-up and at every step after it; here the cap is
/// <see cref="MaximumNorm"/>, off by default, since a fixed cap is the threshold an adaptive rule replaces. As in the
/// reference, the cap does not enter the moving statistics (v′ is the adaptive value), and the reference's
/// <c>percentile</c> mode, <c>clip_factor</c> and <c>skip_update_on_spike</c> are not ported.</para>
/// <para><b>On the device.</b> The step count is kept on the host (it needs no read), so the warm-up branches cost
/// nothing; μ, σ² and the warm-up buffer are float64 tensors, and the spike decision is a <c>where</c>: no host read per
/// step. The coefficient min(1, τ / (‖g‖ + 1e-6)) is applied unconditionally, with τ = v on a spike (capped) and the cap
/// (or +∞) otherwise.</para>
/// <para><b>State</b> (<see cref="ExportState"/>): <c>mean</c> and <c>variance</c> (float64 scalars), <c>warmup</c>
/// (float64 [<see cref="WarmupSteps"/>]) and <c>count</c> (the number of norms seen, int64). Its stage is one group,
/// <c>(global)</c>; it is clipped when ‖g‖ &gt; τ.</para>
/// </remarks>
public sealed class ZClipRule : IGradientClippingRule
{
    /// <summary>ε of the z-score's denominator σ + ε: 1e-6, the reference's.</summary>
    public const double Epsilon = 1e-6;

    private Tensor? _warmup;
    private Tensor? _mean;
    private Tensor? _variance;
    private long _count;

    /// <summary>Creates the rule.</summary>
    /// <param name="warmupSteps">The number of warm-up steps. Range: [1, 100,000]. Default: 25.</param>
    /// <param name="threshold">z_thr. Range: finite and &gt; 0. Default: 2.5.</param>
    /// <param name="alpha">α. Range: (0, 1). Default: 0.97.</param>
    /// <param name="target">Where a spike is clipped to. Default: <see cref="ZClipTarget.AdaptiveScaling"/>.</param>
    /// <param name="maximumNorm">A fixed cap of the global norm at every step, or null. Range: null, or finite and &gt; 0. Default: null.</param>
    /// <param name="normType">p of the norm: ≥ 1 or +∞. Default: 2.</param>
    /// <exception cref="ArgumentOutOfRangeException">An argument is out of range.</exception>
    public ZClipRule(
        int warmupSteps = GradientClippingDefaults.ZClipWarmupSteps,
        double threshold = GradientClippingDefaults.ZClipThreshold,
        double alpha = GradientClippingDefaults.ZClipAlpha,
        ZClipTarget target = GradientClippingDefaults.ZClipClipTarget,
        double? maximumNorm = null,
        double normType = GradientClippingDefaults.NormType)
    {
        ClippingArguments.CheckCount(warmupSteps, GradientClippingOptions.MaximumZClipWarmupSteps, nameof(warmupSteps));
        ClippingArguments.CheckThreshold(threshold, nameof(threshold));
        ClippingArguments.CheckFraction(alpha, nameof(alpha));
        if (!Enum.IsDefined(target))
            throw new ArgumentOutOfRangeException(nameof(target), target, $"{nameof(target)} must be a defined {nameof(ZClipTarget)}, but was {target}.");
        if (maximumNorm is { } maximum) ClippingArguments.CheckThreshold(maximum, nameof(maximumNorm));
        ClippingArguments.CheckNormType(normType, nameof(normType));
        WarmupSteps = warmupSteps;
        Threshold = threshold;
        Alpha = alpha;
        Target = target;
        MaximumNorm = maximumNorm;
        NormType = normType;
    }

    /// <summary>Gets the number of warm-up steps.</summary>
    public int WarmupSteps { get; }

    /// <summary>Gets the z-score threshold z_thr.</summary>
    public double Threshold { get; }

    /// <summary>Gets α, the weight of the past in the moving mean and variance.</summary>
    public double Alpha { get; }

    /// <summary>Gets where a spike is clipped to.</summary>
    public ZClipTarget Target { get; }

    /// <summary>Gets the fixed cap of the global norm, or null.</summary>
    public double? MaximumNorm { get; }

    /// <summary>Gets p of the norm.</summary>
    public double NormType { get; }

    /// <inheritdoc/>
    public string Name => "ZClip";

    /// <inheritdoc/>
    public IReadOnlyList<GradientClipStage> Apply(GradientClipContext context)
    {
        ArgumentNullException.ThrowIfNull(context);
        using var noGrad = no_grad();
        var total = context.TotalNorm(NormType);
        var norm = total.to(ScalarType.Float64);
        var cap = full(Array.Empty<long>(), MaximumNorm ?? double.PositiveInfinity, ScalarType.Float64, norm.device);
        Tensor threshold;
        if (_count < WarmupSteps)
        {
            _warmup ??= zeros(WarmupSteps, ScalarType.Float64, norm.device).DetachFromDisposeScope();
            _warmup[_count] = norm;
            if (_count == WarmupSteps - 1)
            {
                var mean = _warmup.mean();
                Replace(ref _variance, (_warmup - mean).square().mean()); // the population variance, written out
                Replace(ref _mean, mean);
            }

            threshold = cap;
        }
        else
        {
            var sigma = _variance!.sqrt();
            var z = (norm - _mean!) / (sigma + Epsilon);
            var spike = z.gt(Threshold);
            var clipValue = Target == ZClipTarget.Mean ? _mean!.clone() : _mean! + Threshold * sigma / (z / Threshold);
            var effective = where(spike, clipValue, norm);
            threshold = where(spike, clipValue, full(Array.Empty<long>(), double.PositiveInfinity, ScalarType.Float64, norm.device)).minimum(cap);
            var mean = _mean! * Alpha + effective * (1 - Alpha);
            var variance = _variance! * Alpha + (effective - mean).square() * (1 - Alpha);
            Replace(ref _mean, mean);
            Replace(ref _variance, variance);
        }

        _count++;
        return [ThresholdScaling.Clip(Name, context, total, threshold.to(total.dtype, total.device))];
    }

    private static void Replace(ref Tensor? field, Tensor value)
    {
        field?.Dispose();
        field = value.DetachFromDisposeScope();
    }

    /// <inheritdoc/>
    public Dictionary<string, Tensor> ExportState() => new(StringComparer.Ordinal)
    {
        [MeanKey] = (_mean?.clone() ?? tensor(0.0)).DetachFromDisposeScope(),
        [VarianceKey] = (_variance?.clone() ?? tensor(0.0)).DetachFromDisposeScope(),
        [WarmupKey] = (_warmup?.clone() ?? zeros(WarmupSteps, ScalarType.Float64)).DetachFromDisposeScope(),
        [CountKey] = tensor(_count).DetachFromDisposeScope(),
    };

    /// <inheritdoc/>
    public void ImportState(IReadOnlyDictionary<string, Tensor> state)
    {
        ArgumentNullException.ThrowIfNull(state);
        RuleState.CheckKeys(Name, state, MeanKey, VarianceKey, WarmupKey, CountKey);
        var warmup = state[WarmupKey];
        if (warmup.dim() != 1 || warmup.shape[0] != WarmupSteps || state[MeanKey].numel() != 1 || state[VarianceKey].numel() != 1)
            throw new ArgumentException(string.Create(CultureInfo.InvariantCulture,
                $"The rule '{Name}' keeps a scalar {MeanKey} and {VarianceKey} and a {WarmupKey} buffer of {WarmupSteps} norms, but the state has shapes " +
                $"[{string.Join(", ", state[MeanKey].shape)}], [{string.Join(", ", state[VarianceKey].shape)}] and [{string.Join(", ", warmup.shape)}]."), nameof(state));
        var count = state[CountKey].item<long>();
        if (count < 0)
            throw new ArgumentException(string.Create(CultureInfo.InvariantCulture, $"The rule '{Name}' state's {CountKey} must be >= 0, but was {count}."), nameof(state));

        using var scope = NewDisposeScope();
        Replace(ref _warmup, warmup.to(ScalarType.Float64).clone());
        Replace(ref _mean, state[MeanKey].to(ScalarType.Float64).reshape(Array.Empty<long>()).clone());
        Replace(ref _variance, state[VarianceKey].to(ScalarType.Float64).reshape(Array.Empty<long>()).clone());
        _count = count;
    }

    private const string MeanKey = "mean";
    private const string VarianceKey = "variance";
    private const string WarmupKey = "warmup";
    private const string CountKey = "count";
}
