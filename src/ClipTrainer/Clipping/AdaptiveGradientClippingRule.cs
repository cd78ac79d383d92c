using static TorchSharp.torch;

namespace ClipTrainer.Clipping;

/// <summary>
/// Adaptive gradient clipping, AGC (Brock, De, Smith, Simonyan 2021, arXiv:2102.06171, NFNets; Optax's
/// <c>adaptive_grad_clip</c>): unit-wise, for each unit i of each gradient G with weight W, when
/// ‖Gᵢ‖ / max(‖Wᵢ‖, ε) &gt; λ, Gᵢ ← Gᵢ · λ·max(‖Wᵢ‖, ε) / max(‖Gᵢ‖, 1e-6); otherwise Gᵢ is unchanged.
/// </summary>
/// <remarks>
/// <para><b>Units.</b> A unit is one output unit: a row of a weight matrix (dimension 0 in TorchSharp's
/// [out, in] layout; for a tensor of more dimensions, the slice at one index of dimension 0), its norm the Euclidean
/// norm over the other dimensions; a bias or any vector is one unit (as in Optax's <c>unitwise_norm</c>). Recurrent
/// modules stack their gates in dimension 0: an LSTM's <c>weight_ih_l0</c> is [4H, I] (input, forget, cell and output
/// gates, H rows each) and <c>weight_hh_l0</c> [4H, H], a GRU's [3H, ·] (reset, update, new), so each row, one gate of
/// one hidden unit, is a unit of its own and is clipped against its own weights. The biases <c>bias_ih_l0</c> and
/// <c>bias_hh_l0</c> are vectors, so each is one unit. Norms are always L2, whatever the clipper's norm type.</para>
/// <para><b>The final layer.</b> Brock et al. found it better not to clip the final linear layer: the parameters of the
/// layer named <see cref="ExcludedLayer"/> (<see cref="GradientGrouping.LayerName"/> of the parameter, <c>head</c> for
/// the library's sequence model) are left unclipped. A name that matches no parameter excludes nothing; the stage's
/// group names list the parameters that were clipped.</para>
/// <para><b>On the device.</b> Per parameter tensor a few fused operations (two row norms, the coefficient, one
/// multiplication); no host read. The rule needs the weights (<see cref="GradientClipContext.Weights"/>), which
/// <see cref="GradientClipper"/> always gives. It keeps no state. Its stage reports, per clipped parameter, its
/// gradient's L2 norm and the smallest coefficient of its units; it is clipped when any unit was scaled.</para>
/// </remarks>
public sealed class AdaptiveGradientClippingRule : IGradientClippingRule
{
    /// <summary>The floor of a unit's gradient norm in the coefficient's denominator: 1e-6, Optax's.</summary>
    public const double GradientEpsilon = 1e-6;

    /// <summary>Creates the rule.</summary>
    /// <param name="clippingFactor">λ. Range: finite and &gt; 0. Default: 0.01.</param>
    /// <param name="epsilon">ε, the floor of a unit's weight norm. Range: finite and &gt; 0. Default: 1e-3.</param>
    /// <param name="excludedLayer">The layer left unclipped, or null to clip all. Range: null or a non-blank name. Default: <c>head</c>.</param>
    /// <exception cref="ArgumentOutOfRangeException">An argument is out of range.</exception>
    public AdaptiveGradientClippingRule(
        double clippingFactor = GradientClippingDefaults.AdaptiveClippingFactor,
        double epsilon = GradientClippingDefaults.AdaptiveClippingEpsilon,
        string? excludedLayer = GradientClippingDefaults.AdaptiveClippingExcludedLayer)
    {
        ClippingArguments.CheckThreshold(clippingFactor, nameof(clippingFactor));
        ClippingArguments.CheckThreshold(epsilon, nameof(epsilon));
        if (excludedLayer is not null && string.IsNullOrWhiteSpace(excludedLayer))
            throw new ArgumentOutOfRangeException(nameof(excludedLayer), excludedLayer,
                $"{nameof(excludedLayer)} must be a layer name such as \"head\", or null to clip every layer, but was \"{excludedLayer}\".");
        ClippingFactor = clippingFactor;
        Epsilon = epsilon;
        ExcludedLayer = excludedLayer;
    }

    /// <summary>Gets λ, the largest allowed ratio of a unit's gradient norm to its weight norm.</summary>
    public double ClippingFactor { get; }

    /// <summary>Gets ε, the floor of a unit's weight norm.</summary>
    public double Epsilon { get; }

    /// <summary>Gets the name of the layer left unclipped, or null.</summary>
    public string? ExcludedLayer { get; }

    /// <inheritdoc/>
    public string Name => "AdaptiveGradientClipping";

    /// <inheritdoc/>
    /// <exception cref="InvalidOperationException">The context has no weights.</exception>
    public IReadOnlyList<GradientClipStage> Apply(GradientClipContext context)
    {
        ArgumentNullException.ThrowIfNull(context);
        var weights = context.Weights ?? throw new InvalidOperationException(
            $"The rule '{Name}' scales each gradient by the size of its weights, but the clip context has none: create the context with its weights, or clip through GradientClipper, which passes them.");
        using var noGrad = no_grad();
        var tensorNorms = context.TensorNorms(2.0); // one fused call when the gradients share a buffer
        var names = new List<string>();
        var included = new List<long>();
        var smallest = new List<Tensor>();
        for (var i = 0; i < context.Gradients.Count; i++)
        {
            if (ExcludedLayer is not null && GradientGrouping.LayerName(context.ParameterNames[i]) == ExcludedLayer) continue;
            var gradient = context.Gradients[i];
            var coefficients = UnitCoefficients(gradient, weights[i]);
            gradient.mul_(coefficients.to(gradient.dtype));
            names.Add(context.ParameterNames[i]);
            included.Add(i);
            smallest.Add(coefficients.min().to(ScalarType.Float64));
        }

        var device = tensorNorms.device;
        var groupNorms = tensorNorms.index_select(0, tensor(included.ToArray(), ScalarType.Int64, device));
        context.MarkModified(); // rows are scaled differently: no per-tensor coefficient describes it
        var groupCoefficients = smallest.Count == 0 ? zeros(0, ScalarType.Float64, device) : stack(smallest);
        var clipped = smallest.Count == 0 ? zeros(Array.Empty<long>(), ScalarType.Bool, device) : groupCoefficients.lt(1.0).any();
        return [new GradientClipStage(Name, names, groupNorms, groupCoefficients, clipped)];
    }

    /// <summary>Per unit (row, or the whole tensor for a vector), the coefficient, shaped to broadcast over the gradient.</summary>
    private Tensor UnitCoefficients(Tensor gradient, Tensor weight)
    {
        var gradientNorms = UnitNorms(gradient);
        var maximum = UnitNorms(weight).clamp_min(Epsilon).mul_(ClippingFactor);
        return where(gradientNorms.gt(maximum), maximum / gradientNorms.clamp_min(GradientEpsilon), ones_like(gradientNorms));
    }

    private static Tensor UnitNorms(Tensor x) => x.dim() <= 1
        ? LinalgVectorNorm.Compute(x).reshape(Enumerable.Repeat(1L, (int)x.dim()).ToArray())
        : LinalgVectorNorm.Compute(x, 2, Enumerable.Range(1, (int)x.dim() - 1).Select(d => (long)d).ToArray(), keepDimensions: true);
}
