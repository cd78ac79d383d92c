namespace ClipTrainer.Clipping;

/// <summary>
/// What a <see cref="GradientClipper"/> does when a gradient holds NaN or ±Inf (detected through the total norm,
/// which is then not finite).
/// </summary>
public enum NonFiniteGradientPolicy
{
    /// <summary>
    /// Throw an <see cref="InvalidOperationException"/> that names the parameters with non-finite gradients; the
    /// gradients are left untouched. The default: a loud stop is better than weights silently turned into NaN.
    /// </summary>
    Error = 0,

    /// <summary>
    /// Leave the gradients untouched and set <see cref="GradientClipReport.SkipStep"/>: the caller must not call
    /// <c>optimizer.step()</c> for this batch. The clipper counts such steps in
    /// <see cref="GradientClipper.SkippedStepCount"/>.
    /// </summary>
    SkipStep = 1,

    /// <summary>
    /// Replace every NaN and ±Inf gradient element with 0 (counted in
    /// <see cref="GradientClipReport.NonFiniteElementCount"/>), then measure and clip as usual.
    /// </summary>
    ZeroNonFinite = 2,
}
