using static TorchSharp.torch;

namespace ClipTrainer.Clipping;

/// <summary>Value clipping: every gradient element is clamped, gᵢ ← min(max(gᵢ, −v), v) (PyTorch's <c>clip_grad_value_</c>).</summary>
/// <remarks>Its stage measures no norm (no groups); it reports whether any |gᵢ| exceeded v.</remarks>
public sealed class ValueClippingRule : IGradientClippingRule
{
    /// <summary>Creates the rule.</summary>
    /// <param name="clipValue">The bound v: finite and &gt; 0.</param>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="clipValue"/> is not finite and positive.</exception>
    public ValueClippingRule(double clipValue)
    {
        ClippingArguments.CheckThreshold(clipValue, nameof(clipValue));
        ClipValue = clipValue;
    }

    /// <summary>Gets the bound v.</summary>
    public double ClipValue { get; }

    /// <inheritdoc/>
    public string Name => "Value";

    /// <inheritdoc/>
    public IReadOnlyList<GradientClipStage> Apply(GradientClipContext context)
    {
        ArgumentNullException.ThrowIfNull(context);

        // The max norm of all gradients is the largest |gᵢ|: clipping happened exactly when it exceeds v.
        var largest = GradientNorms.Combine(context.TensorNorms(double.PositiveInfinity), double.PositiveInfinity);
        foreach (var gradient in context.Gradients)
        {
            gradient.clamp_(-ClipValue, ClipValue);
        }

        context.MarkModified();
        var none = zeros(0, ScalarType.Float64, largest.device);
        return [new GradientClipStage(Name, [], none, none.clone(), largest.gt(ClipValue))];
    }
}
