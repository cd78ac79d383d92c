namespace ClipTrainer.Clipping;

/// <summary>
/// One gradient-clipping rule: a small type with one job (global norm, local norm, value…), combinable with
/// <see cref="ChainedClippingRule"/>.
/// </summary>
/// <remarks>
/// A rule changes the gradients of the context in place, calls <see cref="GradientClipContext.MarkModified"/> when
/// it did, and returns what it did as stages whose tensors the caller then owns. A rule must not read values back to
/// the host: coefficients are applied unconditionally, as tensors.
/// </remarks>
public interface IGradientClippingRule
{
    /// <summary>Gets a short name of the rule, used as <see cref="GradientClipStage.RuleName"/>.</summary>
    string Name { get; }

    /// <summary>Clips the context's gradients in place.</summary>
    /// <param name="context">The gradients and their cached norms.</param>
    /// <returns>One stage per clipping step the rule performed (none for a rule that does nothing).</returns>
    /// <exception cref="ArgumentNullException"><paramref name="context"/> is null.</exception>
    IReadOnlyList<GradientClipStage> Apply(GradientClipContext context);
}
