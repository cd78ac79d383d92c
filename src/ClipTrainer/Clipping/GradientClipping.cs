using static TorchSharp.torch;

namespace ClipTrainer.Clipping;

/// <summary>
/// The four functions of the global-versus-local norm clipping lecture this library carries over, in .NET form (<c>global_norm</c>, <c>clip_grad_norm_global</c>, <c>local_norm</c>,
/// <c>clip_grad_norm_local</c>), with the same meaning but one host read per call instead of one per parameter.
/// </summary>
/// <remarks>
/// <para>Parameters without a gradient, or that do not require one, are skipped. ‖g‖ₚ = (Σ|gᵢ|ᵖ)^(1/p), computed as
/// the p-norm of the per-tensor norms; p = +∞ gives max|gᵢ| (where the lecture's Python loop is undefined). Clipping computes
/// g ← g · min(1, clipValue / (‖g‖ₚ + 1e-6)) and returns the norm(s) before clipping.</para>
/// <para>Unlike <see cref="GradientClipper"/>, these functions apply no non-finite policy: a NaN or Inf gradient
/// yields a NaN or Inf norm, exactly as in the lecture's sketches and in PyTorch.</para>
/// </remarks>
public static class GradientClipping
{
    /// <summary>Computes the global p-norm of the gradients of <paramref name="parameters"/>, as one vector.</summary>
    /// <param name="parameters">The parameters (for example <c>model.parameters()</c>).</param>
    /// <param name="normType">p: ≥ 1 or +∞. Default: 2.</param>
    /// <returns>The global norm; 0 when no parameter has a gradient.</returns>
    /// <exception cref="ArgumentNullException"><paramref name="parameters"/> is null.</exception>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="normType"/> is NaN or below 1.</exception>
    public static double GlobalNorm(IEnumerable<Tensor> parameters, double normType = GradientClippingDefaults.NormType)
    {
        ArgumentNullException.ThrowIfNull(parameters);
        ClippingArguments.CheckNormType(normType, nameof(normType));
        using var scope = NewDisposeScope();
        using var noGrad = no_grad(); // as in PyTorch: clipping is bookkeeping, not part of any graph
        return HostRead.Double(GradientNorms.Total(Gradients(parameters), normType));
    }

    /// <summary>Clips the gradients of <paramref name="parameters"/> in place by their global p-norm.</summary>
    /// <param name="parameters">The parameters.</param>
    /// <param name="clipValue">The maximum global norm: finite and &gt; 0.</param>
    /// <param name="normType">p: ≥ 1 or +∞. Default: 2.</param>
    /// <returns>The global norm before clipping.</returns>
    /// <exception cref="ArgumentNullException"><paramref name="parameters"/> is null.</exception>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="clipValue"/> or <paramref name="normType"/> is out of range.</exception>
    public static double ClipGradNormGlobal(IEnumerable<Tensor> parameters, double clipValue, double normType = GradientClippingDefaults.NormType)
    {
        ArgumentNullException.ThrowIfNull(parameters);
        ClippingArguments.CheckThreshold(clipValue, nameof(clipValue));
        ClippingArguments.CheckNormType(normType, nameof(normType));
        using var scope = NewDisposeScope();
        using var noGrad = no_grad(); // as in PyTorch: clipping is bookkeeping, not part of any graph
        var gradients = Gradients(parameters);
        var total = GradientNorms.Total(gradients, normType);
        GradientNorms.ClipWithNorm(gradients, total, clipValue);
        return HostRead.Double(total);
    }

    /// <summary>Computes the p-norm of one parameter's gradient.</summary>
    /// <param name="parameter">The parameter.</param>
    /// <param name="normType">p: ≥ 1 or +∞. Default: 2.</param>
    /// <returns>The norm; 0 when the parameter has no gradient or does not require one.</returns>
    /// <exception cref="ArgumentNullException"><paramref name="parameter"/> is null.</exception>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="normType"/> is NaN or below 1.</exception>
    public static double LocalNorm(Tensor parameter, double normType = GradientClippingDefaults.NormType)
    {
        ArgumentNullException.ThrowIfNull(parameter);
        return GlobalNorm([parameter], normType);
    }

    /// <summary>Clips the gradient of each parameter in place by its own p-norm.</summary>
    /// <param name="parameters">The parameters.</param>
    /// <param name="clipValue">The maximum norm of each gradient: finite and &gt; 0.</param>
    /// <param name="normType">p: ≥ 1 or +∞. Default: 2.</param>
    /// <returns>One pre-clip norm per parameter, in order; 0 for a parameter without a gradient.</returns>
    /// <exception cref="ArgumentNullException"><paramref name="parameters"/> is null.</exception>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="clipValue"/> or <paramref name="normType"/> is out of range.</exception>
    public static double[] ClipGradNormLocal(IEnumerable<Tensor> parameters, double clipValue, double normType = GradientClippingDefaults.NormType)
    {
        ArgumentNullException.ThrowIfNull(parameters);
        ClippingArguments.CheckThreshold(clipValue, nameof(clipValue));
        ClippingArguments.CheckNormType(normType, nameof(normType));
        using var scope = NewDisposeScope();
        using var noGrad = no_grad(); // as in PyTorch: clipping is bookkeeping, not part of any graph
        var all = parameters.ToArray();
        var positions = new List<int>(all.Length);
        var gradients = new List<Tensor>(all.Length);
        for (var i = 0; i < all.Length; i++)
        {
            if (GradientOf(all[i]) is { } gradient)
            {
                positions.Add(i);
                gradients.Add(gradient);
            }
        }

        var result = new double[all.Length];
        if (gradients.Count == 0)
        {
            return result;
        }

        var norms = GradientNorms.PerTensor(gradients, normType);
        var groups = gradients.Select((_, i) => new GradientGroup(positions[i].ToString(System.Globalization.CultureInfo.InvariantCulture), [i])).ToArray();
        GradientNorms.ClipWithNorms(gradients, groups, norms, clipValue);
        var values = HostRead.Doubles(norms);
        for (var i = 0; i < positions.Count; i++)
        {
            result[positions[i]] = values[i];
        }

        return result;
    }

    private static Tensor[] Gradients(IEnumerable<Tensor> parameters) =>
        parameters.Select(GradientOf).OfType<Tensor>().ToArray();

    private static Tensor? GradientOf(Tensor parameter)
    {
        ArgumentNullException.ThrowIfNull(parameter, nameof(parameter));
        return parameter.requires_grad ? parameter.grad : null;
    }
}
