namespace ClipTrainer.Clipping;

/// <summary>
/// The default values of <see cref="GradientClippingOptions"/>, in one place so that every overload and every
/// caller uses the same numbers.
/// </summary>
public static class GradientClippingDefaults
{
    /// <summary>The default rule: <see cref="ClippingMode.GlobalNorm"/>, the common choice for recurrent models.</summary>
    public const ClippingMode Mode = ClippingMode.GlobalNorm;

    /// <summary>The default (global-norm, local-norm or value) threshold: 1.0.</summary>
    public const double Threshold = 1.0;

    /// <summary>The default second-stage threshold of <see cref="ClippingMode.GlobalThenLocal"/>: 1.0.</summary>
    public const double LocalThreshold = 1.0;

    /// <summary>The default norm type: 2 (the Euclidean norm).</summary>
    public const double NormType = 2.0;

    /// <summary>The default local grouping: <see cref="LocalNormScope.Parameter"/>.</summary>
    public const LocalNormScope LocalScope = LocalNormScope.Parameter;

    /// <summary>The default percentile of AutoClip's history: 10, the paper's choice (Seetharaman et al. 2020).</summary>
    public const double AutoClipPercentile = 10.0;

    /// <summary>
    /// The default number of latest norms AutoClip keeps: 1,000 (8 KB on the device; the percentile is exact, as with
    /// the authors' unbounded list, for the first 1,000 steps).
    /// </summary>
    public const int AutoClipWindow = 1000;

    /// <summary>The default λ of adaptive gradient clipping: 0.01 (Brock et al. 2021, the value Optax's example uses).</summary>
    public const double AdaptiveClippingFactor = 0.01;

    /// <summary>The default ε of adaptive gradient clipping, the floor of a unit's weight norm: 1e-3 (Brock et al. 2021; Optax).</summary>
    public const double AdaptiveClippingEpsilon = 1e-3;

    /// <summary>
    /// The default layer adaptive gradient clipping leaves unclipped: <c>head</c>, the final linear layer of
    /// <c>ClipTrainer.Modeling.SequenceModel</c> (Brock et al. 2021 found it better not to clip the final layer).
    /// </summary>
    public const string AdaptiveClippingExcludedLayer = "head";

    /// <summary>The default number of ZClip warm-up steps: 25 (the reference's).</summary>
    public const int ZClipWarmupSteps = 25;

    /// <summary>The default z-score threshold of ZClip: 2.5 (the paper's and the reference's).</summary>
    public const double ZClipThreshold = 2.5;

    /// <summary>The default smoothing factor α of ZClip's moving mean and variance: 0.97 (the reference's).</summary>
    public const double ZClipAlpha = 0.97;

    /// <summary>The default clip target of ZClip: <see cref="ZClipTarget.AdaptiveScaling"/> (the reference's).</summary>
    public const ZClipTarget ZClipClipTarget = ZClipTarget.AdaptiveScaling;

    /// <summary>
    /// The default non-finite policy: <see cref="NonFiniteGradientPolicy.Error"/>, because silently corrupted
    /// weights are worse than a loud stop that names the offending parameters.
    /// </summary>
    public const NonFiniteGradientPolicy NonFinitePolicy = NonFiniteGradientPolicy.Error;
}
