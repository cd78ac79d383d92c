namespace ClipTrainer.Clipping;

/// <summary>The rule of <see cref="ClippingMode.None"/>: leaves the gradients as they are and reports no stage.</summary>
public sealed class NoClippingRule : IGradientClippingRule
{
    /// <summary>Gets the shared instance (the rule has no state).</summary>
    public static NoClippingRule Instance { get; } = new();

    /// <inheritdoc/>
    public string Name => "None";

    /// <inheritdoc/>
    public IReadOnlyList<GradientClipStage> Apply(GradientClipContext context)
    {
        ArgumentNullException.ThrowIfNull(context);
        return [];
    }
}
