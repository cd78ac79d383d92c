using static TorchSharp.torch;

namespace ClipTrainer.Clipping;

/// <summary>
/// The gradients one clipping call works on, handed to each <see cref="IGradientClippingRule"/> in turn, with the
/// weights they belong to and their per-tensor norms, computed once and reused until a rule changes the gradients.
/// </summary>
/// <remarks>
/// Only gradients that exist and belong to parameters that require one are in a context. Tensors the context
/// computes belong to the dispose scope that is current when they are computed.
/// </remarks>
public sealed class GradientClipContext
{
    private Tensor? _cachedNorms;
    private double _cachedNormType;

    /// <summary>Creates a context over named gradients, with or without their weights.</summary>
    /// <param name="parameterNames">The name of each gradient's parameter, as <c>named_parameters()</c> gives it.</param>
    /// <param name="gradients">The gradient tensors, in the same order; rules change them in place.</param>
    /// <param name="weights">The parameters (weights) the gradients belong to, in the same order; null when the caller
    /// has none, in which case a rule that needs them throws. Rules read them, never change them.</param>
    /// <exception cref="ArgumentNullException"><paramref name="parameterNames"/> or <paramref name="gradients"/> is null.</exception>
    /// <exception cref="ArgumentException">The lists differ in length.</exception>
    public GradientClipContext(IReadOnlyList<string> parameterNames, IReadOnlyList<Tensor> gradients, IReadOnlyList<Tensor>? weights = null)
    {
        ArgumentNullException.ThrowIfNull(parameterNames);
        ArgumentNullException.ThrowIfNull(gradients);
        if (parameterNames.Count != gradients.Count || (weights is not null && weights.Count != gradients.Count))
        {
            throw new ArgumentException(
                $"Expected one parameter name and one weight per gradient ({gradients.Count}), but got {parameterNames.Count} names and {weights?.Count.ToString(System.Globalization.CultureInfo.InvariantCulture) ?? "no"} weights.",
                nameof(parameterNames));
        }

        ParameterNames = parameterNames;
        Gradients = gradients;
        Weights = weights;
    }

    /// <summary>Gets the name of each gradient's parameter.</summary>
    public IReadOnlyList<string> ParameterNames { get; }

    /// <summary>Gets the gradient tensors.</summary>
    public IReadOnlyList<Tensor> Gradients { get; }

    /// <summary>
    /// Gets the weights the gradients belong to, in the order of <see cref="Gradients"/>, for rules that scale by the
    /// size of the weights (such as adaptive gradient clipping); null when the caller gave none.
    /// </summary>
    public IReadOnlyList<Tensor>? Weights { get; }

    /// <summary>
    /// Gets the current per-tensor p-norms of <see cref="Gradients"/> (see <see cref="GradientNorms.PerTensor"/>),
    /// computed on the first call and reused until <see cref="MarkModified"/> is called or p changes.
    /// </summary>
    /// <param name="normType">p: ≥ 1 or +∞.</param>
    /// <returns>A float64 vector with one norm per gradient. Do not dispose it: later calls may return it again.</returns>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="normType"/> is NaN or below 1.</exception>
    public Tensor TensorNorms(double normType)
    {
        if (_cachedNorms is null || !_cachedNormType.Equals(normType))
        {
            _cachedNorms = GradientNorms.PerTensor(Gradients, normType);
            _cachedNormType = normType;
        }

        return _cachedNorms;
    }

    /// <summary>Tells the context that the gradients changed, so that norms are computed afresh on the next request.</summary>
    public void MarkModified() => _cachedNorms = null;

    /// <summary>
    /// Tells the context that the gradients were multiplied by coefficients c ≥ 0: one for all (a 0-dimensional tensor)
    /// or one per gradient (a vector of <c>Gradients.Count</c>). Cached norms are scaled, since ‖c·g‖ₚ = c·‖g‖ₚ,
    /// instead of being computed again from the gradients, so a chain (global-then-local) and the post-clip norm of the
    /// report measure the gradients once per call, not once per rule.
    /// </summary>
    /// <param name="coefficient">The coefficient applied to every gradient, or one coefficient per gradient.</param>
    /// <exception cref="ArgumentNullException"><paramref name="coefficient"/> is null.</exception>
    public void MarkScaled(Tensor coefficient)
    {
        ArgumentNullException.ThrowIfNull(coefficient);
        if (_cachedNorms is not null)
        {
            _cachedNorms = _cachedNorms * coefficient.to(_cachedNorms.dtype, _cachedNorms.device);
        }
    }
}
