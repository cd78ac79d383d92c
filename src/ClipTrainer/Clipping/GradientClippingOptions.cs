namespace ClipTrainer.Clipping;

/// <summary>
/// Everything that configures gradient clipping: the rule, its threshold(s), the norm type, the local grouping and
/// what happens to non-finite gradients. Validated in one place, <see cref="Validate"/>.
/// </summary>
/// <remarks>
/// Every property is validated whatever the mode, so an options object is either valid or not, independently of
/// which rule later reads which field. The defaults live in <see cref="GradientClippingDefaults"/>.
/// </remarks>
public sealed class GradientClippingOptions
{
    /// <summary>Gets or sets the clipping rule.</summary>
    /// <value>A defined <see cref="ClippingMode"/>. Default: <see cref="ClippingMode.GlobalNorm"/>.</value>
    public ClippingMode Mode { get; set; } = GradientClippingDefaults.Mode;

    /// <summary>
    /// Gets or sets the threshold: the maximum norm for <see cref="ClippingMode.GlobalNorm"/>,
    /// <see cref="ClippingMode.LocalNorm"/> and the first (global) stage of <see cref="ClippingMode.GlobalThenLocal"/>,
    /// or the bound v of the interval [−v, v] for <see cref="ClippingMode.Value"/>.
    /// </summary>
    /// <value>Range: finite and &gt; 0. Default: 1.0.</value>
    public double Threshold { get; set; } = GradientClippingDefaults.Threshold;

    /// <summary>Gets or sets the maximum norm of the second (local) stage of <see cref="ClippingMode.GlobalThenLocal"/>.</summary>
    /// <value>Range: finite and &gt; 0. Default: 1.0.</value>
    public double LocalThreshold { get; set; } = GradientClippingDefaults.LocalThreshold;

    /// <summary>
    /// Gets or sets p of the p-norm ‖g‖ₚ = (Σ|gᵢ|ᵖ)^(1/p) used by the norm rules and for the reported total norm;
    /// <see cref="double.PositiveInfinity"/> is the max norm, max |gᵢ|.
    /// </summary>
    /// <value>Range: ≥ 1, or +∞. Default: 2.</value>
    public double NormType { get; set; } = GradientClippingDefaults.NormType;

    /// <summary>Gets or sets how <see cref="ClippingMode.LocalNorm"/> (and the local stage of <see cref="ClippingMode.GlobalThenLocal"/>) groups gradients.</summary>
    /// <value>A defined <see cref="LocalNormScope"/>. Default: <see cref="LocalNormScope.Parameter"/>.</value>
    public LocalNormScope LocalScope { get; set; } = GradientClippingDefaults.LocalScope;

    /// <summary>Gets or sets what happens when a gradient holds NaN or ±Inf. Applies in every mode, <see cref="ClippingMode.None"/> included.</summary>
    /// <value>A defined <see cref="NonFiniteGradientPolicy"/>. Default: <see cref="NonFiniteGradientPolicy.Error"/>.</value>
    public NonFiniteGradientPolicy NonFinitePolicy { get; set; } = GradientClippingDefaults.NonFinitePolicy;

    /// <summary>Gets or sets the percentile p of the norm history at which <see cref="ClippingMode.AutoClip"/> clips the global norm.</summary>
    /// <value>Range: (0, 100]. Default: 10 (the paper's).</value>
    public double AutoClipPercentile { get; set; } = GradientClippingDefaults.AutoClipPercentile;

    /// <summary>Gets or sets how many of the latest global norms <see cref="ClippingMode.AutoClip"/> keeps as its history (see <see cref="AutoClipRule"/> for the error this bound brings).</summary>
    /// <value>Range: [1, 1,000,000]. Default: 1,000.</value>
    public int AutoClipWindow { get; set; } = GradientClippingDefaults.AutoClipWindow;

    /// <summary>Gets or sets λ of <see cref="ClippingMode.AdaptiveGradientClipping"/>: the largest allowed ratio of a unit's gradient norm to its weight norm.</summary>
    /// <value>Range: finite and &gt; 0. Default: 0.01.</value>
    public double AdaptiveClippingFactor { get; set; } = GradientClippingDefaults.AdaptiveClippingFactor;

    /// <summary>Gets or sets ε of <see cref="ClippingMode.AdaptiveGradientClipping"/>: the floor of a unit's weight norm, so units of zero weights can still move.</summary>
    /// <value>Range: finite and &gt; 0. Default: 1e-3.</value>
    public double AdaptiveClippingEpsilon { get; set; } = GradientClippingDefaults.AdaptiveClippingEpsilon;

    /// <summary>
    /// Gets or sets the layer whose parameters <see cref="ClippingMode.AdaptiveGradientClipping"/> leaves unclipped, by
    /// its name in <see cref="GradientGrouping.LayerName"/> (the parameter name up to its last dot: <c>head</c> for
    /// <c>head.weight</c> and <c>head.bias</c>); null clips every layer.
    /// </summary>
    /// <value>Null, or a non-blank name. Default: <c>head</c>, the final linear layer of the library's sequence model.</value>
    public string? AdaptiveClippingExcludedLayer { get; set; } = GradientClippingDefaults.AdaptiveClippingExcludedLayer;

    /// <summary>Gets or sets how many steps <see cref="ClippingMode.ZClip"/> only collects norms before its mean and variance start.</summary>
    /// <value>Range: [1, 100,000]. Default: 25.</value>
    public int ZClipWarmupSteps { get; set; } = GradientClippingDefaults.ZClipWarmupSteps;

    /// <summary>Gets or sets the z-score above which <see cref="ClippingMode.ZClip"/> treats a norm as a spike and clips it.</summary>
    /// <value>Range: finite and &gt; 0. Default: 2.5.</value>
    public double ZClipThreshold { get; set; } = GradientClippingDefaults.ZClipThreshold;

    /// <summary>Gets or sets α of <see cref="ClippingMode.ZClip"/>'s moving mean and variance (the weight of the past).</summary>
    /// <value>Range: (0, 1). Default: 0.97.</value>
    public double ZClipAlpha { get; set; } = GradientClippingDefaults.ZClipAlpha;

    /// <summary>Gets or sets where <see cref="ClippingMode.ZClip"/> clips a spike to.</summary>
    /// <value>A defined <see cref="ZClipTarget"/>. Default: <see cref="ZClipTarget.AdaptiveScaling"/>.</value>
    public ZClipTarget ZClipClipTarget { get; set; } = GradientClippingDefaults.ZClipClipTarget;

    /// <summary>Gets or sets a fixed maximum global norm that <see cref="ClippingMode.ZClip"/> also enforces at every step, warm-up included; null for none.</summary>
    /// <value>Null, or finite and &gt; 0. Default: null (the reference's default is 1.0; a fixed cap is what an adaptive rule is meant to replace).</value>
    public double? ZClipMaximumNorm { get; set; }

    /// <summary>
    /// Gets or sets the factory of the rule that <see cref="ClippingMode.Custom"/> applies: any
    /// <see cref="IGradientClippingRule"/>, such as a rule of your own or a <see cref="ChainedClippingRule"/> of the
    /// library's rules. It is called once per clipper (so once per training run), because rules may keep state across
    /// steps. <see cref="NormType"/> and <see cref="NonFinitePolicy"/> still apply to the reported norm and the guard.
    /// </summary>
    /// <value>Required when <see cref="Mode"/> is <see cref="ClippingMode.Custom"/>, and only then. Default: null.</value>
    public Func<IGradientClippingRule>? RuleFactory { get; set; }

    /// <summary>Checks every property and throws on the first invalid one.</summary>
    /// <exception cref="ArgumentOutOfRangeException">
    /// A property is out of range; <see cref="ArgumentException.ParamName"/> is the property's name and the message
    /// states the expected range and the actual value.
    /// </exception>
    /// <exception cref="ArgumentException"><see cref="RuleFactory"/> is missing under <see cref="ClippingMode.Custom"/>, or set under another mode.</exception>
    public void Validate()
    {
        CheckDefined(Mode, nameof(Mode));
        if ((Mode == ClippingMode.Custom) != (RuleFactory is not null))
        {
            throw new ArgumentException(Mode == ClippingMode.Custom
                ? $"{nameof(GradientClippingOptions)}.{nameof(Mode)} is {nameof(ClippingMode.Custom)} but no {nameof(RuleFactory)} is set: set {nameof(RuleFactory)} to a function that creates the rule, e.g. () => new ChainedClippingRule(...)."
                : $"{nameof(GradientClippingOptions)}.{nameof(RuleFactory)} is set but {nameof(Mode)} is {Mode}: set {nameof(Mode)} = {nameof(ClippingMode.Custom)} to use the factory's rule, or clear {nameof(RuleFactory)}.",
                nameof(RuleFactory));
        }

        ClippingArguments.CheckThreshold(Threshold, nameof(Threshold));
        ClippingArguments.CheckThreshold(LocalThreshold, nameof(LocalThreshold));
        ClippingArguments.CheckNormType(NormType, nameof(NormType));
        CheckDefined(LocalScope, nameof(LocalScope));
        CheckDefined(NonFinitePolicy, nameof(NonFinitePolicy));
        ClippingArguments.CheckPercentile(AutoClipPercentile, nameof(AutoClipPercentile));
        ClippingArguments.CheckCount(AutoClipWindow, MaximumAutoClipWindow, nameof(AutoClipWindow));
        ClippingArguments.CheckThreshold(AdaptiveClippingFactor, nameof(AdaptiveClippingFactor));
        ClippingArguments.CheckThreshold(AdaptiveClippingEpsilon, nameof(AdaptiveClippingEpsilon));
        if (AdaptiveClippingExcludedLayer is { } layer && string.IsNullOrWhiteSpace(layer))
        {
            throw new ArgumentOutOfRangeException(nameof(AdaptiveClippingExcludedLayer), layer,
                $"{nameof(GradientClippingOptions)}.{nameof(AdaptiveClippingExcludedLayer)} must be a layer name such as \"head\", or null to clip every layer, but was \"{layer}\".");
        }

        ClippingArguments.CheckCount(ZClipWarmupSteps, MaximumZClipWarmupSteps, nameof(ZClipWarmupSteps));
        ClippingArguments.CheckThreshold(ZClipThreshold, nameof(ZClipThreshold));
        ClippingArguments.CheckFraction(ZClipAlpha, nameof(ZClipAlpha));
        CheckDefined(ZClipClipTarget, nameof(ZClipClipTarget));
        if (ZClipMaximumNorm is { } maximum)
        {
            ClippingArguments.CheckThreshold(maximum, nameof(ZClipMaximumNorm));
        }
    }

    /// <summary>Returns a copy of these options, so a clipper is not affected by later changes to the original.</summary>
    /// <returns>A new <see cref="GradientClippingOptions"/> with the same values.</returns>
    public GradientClippingOptions Clone() => (GradientClippingOptions)MemberwiseClone();

    // Bounds that keep the rules' device buffers small (8 MB and 0.8 MB of float64).
    internal const int MaximumAutoClipWindow = 1_000_000;
    internal const int MaximumZClipWarmupSteps = 100_000;

    private static void CheckDefined<TEnum>(TEnum value, string name)
        where TEnum : struct, Enum
    {
        if (!Enum.IsDefined(value))
        {
            throw new ArgumentOutOfRangeException(name, value,
                $"{nameof(GradientClippingOptions)}.{name} must be one of {string.Join(", ", Enum.GetNames<TEnum>())}, but was {value}.");
        }
    }
}
