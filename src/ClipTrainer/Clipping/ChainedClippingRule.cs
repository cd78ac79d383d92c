using static TorchSharp.torch;

namespace ClipTrainer.Clipping;

/// <summary>
/// Applies several rules one after the other, each to the gradients the previous one produced (optax's
/// <c>chain</c>). <see cref="ClippingMode.GlobalThenLocal"/> is a chain of a <see cref="GlobalNormClippingRule"/> and
/// a <see cref="LocalNormClippingRule"/>.
/// </summary>
/// <remarks>The chain's state is its rules' states, each name prefixed with the rule's position: <c>0.history</c>.</remarks>
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

    /// <inheritdoc/>
    public Dictionary<string, Tensor> ExportState()
    {
        var state = new Dictionary<string, Tensor>(StringComparer.Ordinal);
        for (var i = 0; i < Rules.Count; i++)
        {
            foreach (var (name, value) in Rules[i].ExportState())
            {
                state.Add($"{i}.{name}", value);
            }
        }

        return state;
    }

    /// <inheritdoc/>
    public void ImportState(IReadOnlyDictionary<string, Tensor> state)
    {
        ArgumentNullException.ThrowIfNull(state);
        var unknown = state.Keys.Where(key => !(key.IndexOf('.') is > 0 and var dot
            && int.TryParse(key.AsSpan(0, dot), System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out var index)
            && index < Rules.Count)).ToArray();
        if (unknown.Length > 0)
        {
            throw new ArgumentException(
                $"The chain '{Name}' has {Rules.Count} rules, but the state to import holds {string.Join(", ", unknown)}, which names none of them.", nameof(state));
        }

        for (var i = 0; i < Rules.Count; i++)
        {
            var prefix = $"{i}.";
            Rules[i].ImportState(state.Where(p => p.Key.StartsWith(prefix, StringComparison.Ordinal))
                .ToDictionary(p => p.Key[prefix.Length..], p => p.Value, StringComparer.Ordinal));
        }
    }
}
