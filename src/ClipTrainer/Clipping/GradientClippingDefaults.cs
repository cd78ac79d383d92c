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
    /// The default non-finite policy: <see cref="NonFiniteGradientPolicy.Error"/>, because silently corrupted
    /// weights are worse than a loud stop that names the offending parameters.
    /// </summary>
    public const NonFiniteGradientPolicy NonFinitePolicy = NonFiniteGradientPolicy.Error;
}
