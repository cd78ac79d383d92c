namespace ClipTrainer.Clipping;

/// <summary>
/// Which gradient-clipping rule a <see cref="GradientClipper"/> applies after the backward pass.
/// </summary>
/// <remarks>
/// The rule is chosen once, by <see cref="GradientClipper.Create(GradientClippingOptions)"/>; nothing else in the
/// library switches on this value. "Off" is the explicit <see cref="None"/>, never a magic threshold.
/// </remarks>
public enum ClippingMode
{
    /// <summary>No clipping. Gradients are only measured (and checked for non-finite values).</summary>
    None = 0,

    /// <summary>
    /// Global-norm clipping: every gradient is scaled by <c>min(1, Threshold / (‖g‖ₚ + 1e-6))</c>, where ‖g‖ₚ is the
    /// p-norm of all gradients taken together as one vector (PyTorch's <c>clip_grad_norm_</c>).
    /// </summary>
    GlobalNorm = 1,

    /// <summary>
    /// Local-norm clipping: the global-norm rule applied separately to each group of gradients (each parameter
    /// tensor, or each layer; see <see cref="LocalNormScope"/>), each group with its own coefficient.
    /// </summary>
    LocalNorm = 2,

    /// <summary>Value clipping: every gradient element is clamped to [−Threshold, Threshold].</summary>
    Value = 3,

    /// <summary>
    /// Global-norm clipping with <see cref="GradientClippingOptions.Threshold"/>, then local-norm clipping with
    /// <see cref="GradientClippingOptions.LocalThreshold"/> on the result.
    /// </summary>
    GlobalThenLocal = 4,

    /// <summary>
    /// The rule that <see cref="GradientClippingOptions.RuleFactory"/> creates (a rule of your own, or a chain of the
    /// library's rules), once per training run.
    /// </summary>
    Custom = 5,

    /// <summary>
    /// AutoClip (Seetharaman et al. 2020): the pre-clip global norm joins a history of the latest
    /// <see cref="GradientClippingOptions.AutoClipWindow"/> norms, then the global norm is clipped at the
    /// <see cref="GradientClippingOptions.AutoClipPercentile"/>-th percentile of that history (see <see cref="AutoClipRule"/>).
    /// </summary>
    AutoClip = 6,

    /// <summary>
    /// Adaptive gradient clipping (Brock et al. 2021): each unit (row) of each gradient is scaled to at most
    /// <see cref="GradientClippingOptions.AdaptiveClippingFactor"/> × its weight norm (see <see cref="AdaptiveGradientClippingRule"/>).
    /// </summary>
    AdaptiveGradientClipping = 7,

    /// <summary>
    /// ZClip (Kumar et al. 2025): after a warm-up, a global norm whose z-score against a moving mean and variance exceeds
    /// <see cref="GradientClippingOptions.ZClipThreshold"/> is clipped towards the mean (see <see cref="ZClipRule"/>).
    /// </summary>
    ZClip = 8,
}
