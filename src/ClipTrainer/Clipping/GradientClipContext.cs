using TorchSharp;
using static TorchSharp.torch;

namespace ClipTrainer.Clipping;

/// <summary>
/// The gradients one clipping call works on, handed to each <see cref="IGradientClippingRule"/> in turn, with the
/// weights they belong to and their per-tensor norms, computed once and reused until a rule changes the gradients.
/// </summary>
/// <remarks>
/// Only gradients that exist and belong to parameters that require one are in a context. Tensors the context
/// computes belong to the dispose scope that is current when they are computed. When the gradients are the views of
/// a <see cref="ContiguousGradients"/> buffer (the list is its <see cref="ContiguousGradients.Gradients"/>, or the
/// clipper found them to be its views), norms are computed on the buffer with fused calls.
/// </remarks>
public sealed class GradientClipContext : IDisposable
{
    // The context owns its cached norms, whatever dispose scope a rule asks for them in: they are detached from the scope
    // current when made and disposed with the context, so a rule's own scope can never free a norm the report needs.
    private readonly List<Tensor> _owned = [];
    private Tensor? _cachedNorms;
    private double _cachedNormType;
    private Tensor? _cachedTotal;
    private double _cachedTotalNormType;
    private Tensor? _cachedRows;
    private double _cachedRowsNormType;
    private Tensor? _pendingScale;
    private double _pendingHostScale = 1; // a global coefficient known on the host, applied to the cached norms when next asked for
    private double? _hostTotal; // the cached total's value when known on the host (read by the non-finite check, then scaled)
    private double _hostTotalNormType;
    private Device? _device;

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
        ClippingArguments.CheckNormType(normType, nameof(normType));
        ApplyPendingScale();
        if (_cachedNorms is null || !_cachedNormType.Equals(normType))
        {
            using var noGrad = no_grad();
            _cachedNorms = Keep(Precise
                ? GradientNorms.PrecisePerTensor(Gradients, normType)
                : ContiguousGradients.Of(Gradients) is { } buffer && RowNormsFor(normType) is { } rows
                    ? TensorNormKernels.PerTensorFromRows(buffer, rows, normType)
                    : GradientNorms.PerTensor(Gradients, normType));
            _cachedNormType = normType;
        }

        return _cachedNorms;
    }

    /// <summary>
    /// Gets the current total p-norm of <see cref="Gradients"/> (see <see cref="GradientNorms.Total"/>), computed once
    /// and shared by the non-finite guard and the rules until <see cref="MarkModified"/> is called or p changes.
    /// </summary>
    /// <param name="normType">p: ≥ 1 or +∞.</param>
    /// <returns>A 0-dimensional float64 tensor. Do not dispose it: later calls may return it again.</returns>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="normType"/> is NaN or below 1.</exception>
    public Tensor TotalNorm(double normType)
    {
        ClippingArguments.CheckNormType(normType, nameof(normType));
        ApplyPendingScale();
        if (_cachedTotal is null || !_cachedTotalNormType.Equals(normType))
        {
            using var noGrad = no_grad();
            var buffer = Precise ? null : ContiguousGradients.Of(Gradients);
            _cachedTotal = Keep(buffer is null || (_cachedNorms is not null && _cachedNormType.Equals(normType))
                ? GradientNorms.Combine(TensorNorms(normType), normType)
                : buffer.Buffer.numel() > TensorNormKernels.DirectLimit && RowNormsFor(normType) is { } rows
                    ? TensorNormKernels.VectorNorm(rows, normType)
                    : GradientNorms.Total(Gradients, normType));
            _cachedTotalNormType = normType;
        }

        return _cachedTotal;
    }

    /// <summary>Disposes the norms the context computed and cached (tensors it returned included): use them before.</summary>
    public void Dispose()
    {
        foreach (var owned in _owned) owned.Dispose();
        _owned.Clear();
        _cachedNorms = _cachedTotal = _cachedRows = _pendingScale = null;
    }

    private Tensor Keep(Tensor value)
    {
        _owned.Add(value.DetachFromDisposeScope());
        return value;
    }

    /// <summary>Tells the context that the gradients changed, so that norms are computed afresh on the next request.</summary>
    public void MarkModified()
    {
        (Gradients as ClipCallGradients)?.ForgetTotal();
        _cachedNorms = null;
        _cachedTotal = null;
        _cachedRows = null;
        _pendingScale = null;
        _pendingHostScale = 1;
        _hostTotal = null;
    }

    /// <summary>The gradients' device (the CPU when there are none): where the tensors of host-valued stages are made.</summary>
    internal Device Device => _device ??= Gradients.Count > 0 ? Gradients[0].device : CPU;

    /// <summary>Records the host value of the cached total p-norm (the non-finite check read it), so rules need no read of their own.</summary>
    internal void RememberTotalValue(double normType, double value) => (_hostTotal, _hostTotalNormType, HostTotalScaled) = (value, normType, false);

    /// <summary>Whether the host total was scaled by a rule since the check read it (the next rule's coefficient then takes
    /// <see cref="GradientNorms.Coefficients"/>' float64 steps, as it did when that total was a tensor).</summary>
    internal bool HostTotalScaled { get; private set; }

    /// <summary>Gets the total p-norm's host value when it is known without a read: read by the check, then only scaled on the host.</summary>
    internal bool TryGetTotalValue(double normType, out double value)
    {
        value = _hostTotal ?? double.NaN;
        return _hostTotal is not null && _hostTotalNormType.Equals(normType);
    }

    /// <summary>
    /// Tells the context that every gradient was multiplied by one host <paramref name="coefficient"/> (a global norm rule
    /// on the host path): the cached norms follow it, the host total too; a coefficient of 1 changed nothing.
    /// </summary>
    internal void MarkScaledOnHost(double coefficient)
    {
        if (coefficient == 1) return;
        (Gradients as ClipCallGradients)?.ForgetTotal();
        ApplyPendingHostScale(); // each rule's coefficient in turn, (x·c1)·c2 rather than x·(c1·c2), as the cached tensors always had it
        _pendingHostScale = coefficient;
        HostTotalScaled = true;
        if (_hostTotal is { } total) _hostTotal = total * coefficient;
    }

    /// <summary>
    /// Tells the context that the gradients were multiplied by coefficients c ≥ 0: one for all (a 0-dimensional tensor)
    /// or one per gradient (a vector of <c>Gradients.Count</c>). Cached norms are scaled, since ‖c·g‖ₚ = c·‖g‖ₚ,
    /// instead of being computed again from the gradients, so a chain (global-then-local) and the post-clip norm of the
    /// report measure the gradients once per call, not once per rule.
    /// </summary>
    /// <param name="coefficient">The coefficient applied to every gradient, or one coefficient per gradient.</param>
    /// <exception cref="ArgumentNullException"><paramref name="coefficient"/> is null.</exception>
    /// <exception cref="ArgumentException"><paramref name="coefficient"/> is neither 0-dimensional nor one per gradient.</exception>
    public void MarkScaled(Tensor coefficient)
    {
        ArgumentNullException.ThrowIfNull(coefficient);

        (Gradients as ClipCallGradients)?.ForgetTotal();
        _hostTotal = null; // a device coefficient: the host no longer knows the total
        if (coefficient.dim() == 0)
        {
            // Applied when a norm is next asked for: a global rule alone never asks again, so it pays nothing.
            // A copy: the rule may dispose or reuse its tensor after the call.
            if (_pendingHostScale != 1)
            {
                // One pending coefficient c1·c2, as when the host rule's coefficient was a float64 0-d tensor too.
                using var noGrad0 = no_grad();
                using var host = tensor(_pendingHostScale, ScalarType.Float64, coefficient.device);
                _pendingHostScale = 1;
                _pendingScale = Keep(host * coefficient);
                return;
            }

            _pendingScale = Keep(_pendingScale is null ? coefficient.detach().clone() : _pendingScale * coefficient);
            return;
        }

        ApplyPendingHostScale();

        // One coefficient per gradient (local rules): the per-tensor norms follow it; the total and a buffer's row norms
        // cannot, and are measured again, from the scaled per-tensor norms, when asked for.
        if (coefficient.numel() != Gradients.Count)
        {
            throw new ArgumentException(
                $"Expected one coefficient for all gradients (a 0-dimensional tensor) or one per gradient ({Gradients.Count}), but got {coefficient.numel()}.",
                nameof(coefficient));
        }

        ApplyPendingScale();
        using var noGrad = no_grad();
        _cachedNorms = _cachedNorms is null ? null : Keep(_cachedNorms * coefficient.to(_cachedNorms.dtype, _cachedNorms.device).reshape(-1));
        _cachedTotal = null;
        _cachedRows = null;
    }

    /// <summary>Whether norms are accumulated exactly in float64 (set by the guard when the fast total overflowed or vanished).</summary>
    internal bool Precise { get; private set; }

    /// <summary>Switches to exact float64 accumulation and forgets every cached norm.</summary>
    internal void UsePreciseNorms()
    {
        MarkModified();
        Precise = true;
    }

    private void ApplyPendingHostScale()
    {
        if (_pendingHostScale == 1) return;
        using var noGrad = no_grad();
        using var scale = _pendingHostScale.ToScalar(); // disposed here, not left to the finalizer (TorchSharp#1434)
        _pendingHostScale = 1;
        if (_cachedNorms is not null) _cachedNorms = Keep(_cachedNorms.mul(scale));
        if (_cachedTotal is not null) _cachedTotal = Keep(_cachedTotal.mul(scale));
        if (_cachedRows is not null) _cachedRows = Keep(_cachedRows.mul(scale));
    }

    private void ApplyPendingScale()
    {
        ApplyPendingHostScale();
        if (_pendingScale is not { } scale)
        {
            return;
        }

        _pendingScale = null;
        using var noGrad = no_grad();
        if (_cachedNorms is not null)
        {
            _cachedNorms = Keep(_cachedNorms * scale.to(_cachedNorms.dtype, _cachedNorms.device));
        }

        if (_cachedTotal is not null)
        {
            _cachedTotal = Keep(_cachedTotal * scale.to(_cachedTotal.dtype, _cachedTotal.device));
        }

        if (_cachedRows is not null)
        {
            _cachedRows = Keep(_cachedRows * scale.to(_cachedRows.dtype, _cachedRows.device));
        }
    }

    // A contiguous buffer's float64 row norms, kept so that the per-tensor norms after the total cost no second pass
    // over the gradients (only for p = 1 and 2: other per-tensor norms need a maximum per segment, see TensorNormKernels).
    private Tensor? RowNormsFor(double normType)
    {
        if (normType is not (1 or 2) || ContiguousGradients.Of(Gradients) is not { } buffer)
        {
            return null;
        }

        if (_cachedRows is null || !_cachedRowsNormType.Equals(normType))
        {
            _cachedRows = Keep(TensorNormKernels.RowNorms(buffer, normType));
            _cachedRowsNormType = normType;
        }

        return _cachedRows;
    }
}
