namespace ClipTrainer.Clipping;

/// <summary>
/// Applies several rules one after the other, each to the gradients the previous one produced (optax's
/// <c>chain</c>). <see cref="ClippingMode.GlobalThenLocal"/> is a chain of a <see cref="GlobalNormClippingRule"/> and
/// a <see cref="LocalNormClippingRule"/>.
/// </summary>
public sealed class ChainedClippingRule : IGradientClippingRule
{
    /// <summary>Creates the chain.</summary>
    /// <param name="rules">The rules, in the order they are applied; at least one.</param>
    /// <exception cref="ArgumentNullException"><paramref name="rules"/> or one of its elements is null.</exception>
    /// <exception cref="ArgumentException"><paramref name="rules"/> is empty.</exception>
    public ChainedClippingRule(params IGradientClippingRule[] rules)
    {
        ArgumentNullException.ThrowIfNull(rules);
        if (rules.Length == 0)
        {
            throw new ArgumentException("A chain needs at least one rule.", nameof(rules));
        }

        if (rules.Any(r => r is null))
        {
            throw new ArgumentNullException(nameof(rules), "A chain cannot hold a null rule.");
        }

        Rules = rules.ToArray();
    }

    /// <summary>Gets the rules, in the order they are applied.</summary>
    public IReadOnlyList<IGradientClippingRule> Rules { get; }

    /// <inheritdoc/>
    public string Name => string.Join("Then", Rules.Select(r => r.Name));

    /// <inheritdoc/>
    public IReadOnlyList<GradientClipStage> Apply(GradientClipContext context)
    {
        ArgumentNullException.ThrowIfNull(context);
        return Rules.SelectMany(rule => rule.Apply(context)).ToArray();
    }
}
