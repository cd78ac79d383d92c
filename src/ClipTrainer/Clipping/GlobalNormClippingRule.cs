using static TorchSharp.torch;

namespace ClipTrainer.Clipping;

/// <summary>
/// Global-norm clipping: g ← g · min(1, threshold / (‖g‖ₚ + 1e-6)) for every gradient, where ‖g‖ₚ is the p-norm of
/// all gradients taken as one vector (PyTorch's <c>clip_grad_norm_</c>).
/// </summary>
/// <remarks>Its stage has one group, <c>(global)</c>, whose norm is the pre-clip total norm.</remarks>
public sealed class GlobalNormClippingRule : IGradientClippingRule
{
    /// <summary>The name of the single group this rule reports.</summary>
    public const string GroupName = "(global)";

    /// <summary>Creates the rule.</summary>
    /// <param name="threshold">The maximum global norm: finite and &gt; 0.</param>
    /// <param name="normType">p: ≥ 1 or +∞. Default: 2.</param>
    /// <exception cref="ArgumentOutOfRangeException">An argument is out of range.</exception>
    public GlobalNormClippingRule(double threshold, double normType = GradientClippingDefaults.NormType)
    {
        ClippingArguments.CheckThreshold(threshold, nameof(threshold));
        ClippingArguments.CheckNormType(normType, nameof(normType));
        Threshold = threshold;
        NormType = normType;
    }

    /// <summary>Gets the maximum global norm.</summary>
    public double Threshold { get; }

    /// <summary>Gets p of the p-norm.</summary>
    public double NormType { get; }

    /// <inheritdoc/>
    public string Name => "GlobalNorm";

    /// <inheritdoc/>
    public IReadOnlyList<GradientClipStage> Apply(GradientClipContext context)
    {
        ArgumentNullException.ThrowIfNull(context);
        if (context.TryGetTotalValue(NormType, out var known))
        {
            // The non-finite check read the total: the coefficient, the scaling decision and the stage are host values,
            // so a step that needs no clipping costs no tensor operation at all.
            var hostCoefficient = GradientNorms.ClipWithHostNorm(context.Gradients, known, Threshold, context.HostTotalScaled);
            context.MarkScaledOnHost(hostCoefficient);
            return [new GradientClipStage(Name, GroupName, known, hostCoefficient, hostCoefficient < 1, context.Device)];
        }

        var total = context.TotalNorm(NormType);
        var coefficient = GradientNorms.ClipWithNorm(context.Gradients, total, Threshold);
        context.MarkScaled(coefficient);
        return [new GradientClipStage(Name, [GroupName], total.reshape(1), coefficient.reshape(1), coefficient.lt(1.0))];
    }
}
