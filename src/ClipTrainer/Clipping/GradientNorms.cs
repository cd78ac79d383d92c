using TorchSharp;
using static TorchSharp.torch;

namespace ClipTrainer.Clipping;

/// <summary>
/// The "measure" and "apply" halves of norm clipping, separately usable: per-tensor, per-group and total gradient
/// norms, and in-place scaling of gradients by a coefficient computed from given norms.
/// </summary>
/// <remarks>
/// <para>
/// Norms: ‖g‖ₚ = (Σ|gᵢ|ᵖ)^(1/p), and ‖g‖∞ = max|gᵢ|. The norm of several tensors is computed as the p-norm of their
/// per-tensor norms, which equals the norm of all their elements as one vector; it is what PyTorch does and is more
/// accurate in float32 than one flat sum. Each per-tensor norm is reduced in blocks of at most 1,024 elements in the
/// gradient's type (float32; half and bfloat16 in float32) and the block norms are combined in float64, without a
/// float64 copy of the gradient: within ~1e-8 relative of a float64 reference on 2·10⁶ float32 elements, where
/// libtorch's own float32 norm is off by 3.3e-5 (measured in <c>Float32AccuracyTests</c>). Float32 squares overflow
/// beyond |gᵢ| ≈ 1.8e19 and vanish below ≈ 1e-19; <see cref="GradientClipper"/> then recomputes the norms exactly in
/// float64 (it sees the total on the host for its NaN/Inf check anyway).
/// </para>
/// <para>
/// Orders other than 1, 2 and ∞ are computed as m·‖g/m‖ₚ with m = max|gᵢ| (per block, per tensor and when norms are
/// combined), so no power overflows or vanishes: at p = 1000, |gᵢ|ᵖ alone is ∞ in float64 for |gᵢ| &gt; 2.03 and 0 for
/// |gᵢ| &lt; 0.49, where PyTorch's norm returns ∞ or 0 and would zero every gradient or never clip; here the norm is
/// finite and within float rounding of the exact value. L1 and L2 pay nothing for it.
/// </para>
/// <para>
/// Gradients that are the views of a <see cref="ContiguousGradients"/> buffer (its
/// <see cref="ContiguousGradients.Gradients"/>, or what a clipper found to be its views) are handled with fused calls
/// on the buffer: one reduction for the total, one segmented reduction for per-tensor norms, one multiplication per
/// clip, whatever the number of tensors.
/// </para>
/// <para>
/// Coefficients: c = min(1, threshold / (norm + 1e-6)), applied as g ← c·g to every gradient concerned, always, so
/// that no host synchronisation is needed to decide whether to clip (c = 1 leaves a gradient unchanged).
/// </para>
/// <para>
/// Every method returns new tensors that belong to the caller's dispose scope; gradients are only changed by the
/// <c>ClipWith…</c> methods, in place. No method reads a value back to the host.
/// </para>
/// </remarks>
public static class GradientNorms
{
    /// <summary>The ε of c = threshold / (norm + ε): 1e-6, as in PyTorch's <c>clip_grad_norm_</c> and the lecture sketches <see cref="GradientClipping"/> carries over.</summary>
    public const double Epsilon = 1e-6;

    /// <summary>Computes the p-norm of each gradient tensor.</summary>
    /// <param name="gradients">The gradient tensors (any shape, floating point).</param>
    /// <param name="normType">p: ≥ 1 or +∞.</param>
    /// <returns>A float64 vector of length <c>gradients.Count</c>, block norms combined in float64, on the first gradient's device (CPU when empty).</returns>
    /// <exception cref="ArgumentNullException"><paramref name="gradients"/> is null.</exception>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="normType"/> is NaN or below 1.</exception>
    public static Tensor PerTensor(IReadOnlyList<Tensor> gradients, double normType)
    {
        ArgumentNullException.ThrowIfNull(gradients);
        ClippingArguments.CheckNormType(normType, nameof(normType));
        if (gradients.Count == 0)
        {
            return zeros(0, ScalarType.Float64);
        }

        using var scope = NewDisposeScope();
        using var noGrad = no_grad(); // as in PyTorch: clipping is bookkeeping, not part of any graph
        if (ContiguousGradients.Of(gradients) is { } buffer && normType is 1 or 2)
        {
            return TensorNormKernels.PerTensorFromRows(buffer, TensorNormKernels.RowNorms(buffer, normType), normType).MoveToOuterDisposeScope();
        }

        return Stack(gradients, g => TensorNormKernels.Fast(g, normType)).MoveToOuterDisposeScope();
    }

    /// <summary>The per-tensor norms accumulated exactly in float64 (a float64 copy of every gradient): the slow path for totals the fast one cannot represent.</summary>
    internal static Tensor PrecisePerTensor(IReadOnlyList<Tensor> gradients, double normType)
    {
        if (gradients.Count == 0)
        {
            return zeros(0, ScalarType.Float64);
        }

        using var scope = NewDisposeScope();
        using var noGrad = no_grad();
        return Stack(gradients, g => TensorNormKernels.Precise(g, normType)).MoveToOuterDisposeScope();
    }

    private static Tensor Stack(IReadOnlyList<Tensor> gradients, Func<Tensor, Tensor> norm)
    {
        var device = gradients[0].device;
        var norms = new Tensor[gradients.Count];
        var sameDevice = true;
        for (var i = 0; i < norms.Length; i++)
        {
            norms[i] = norm(gradients[i]);
            sameDevice &= i == 0 || gradients[i].device_type == gradients[0].device_type && gradients[i].device_index == gradients[0].device_index;
        }

        if (!sameDevice || norms.Any(n => n.dtype != norms[0].dtype))
        {
            norms = norms.Select(n => n.to(ScalarType.Float64, device)).ToArray();
        }

        return norms.Length == 1 ? norms[0].reshape(1).to(ScalarType.Float64) : stack(norms).to(ScalarType.Float64);
    }

    /// <summary>Combines norms into one: the p-norm of a vector of norms (the maximum for p = +∞).</summary>
    /// <param name="norms">A vector of p-norms (for example from <see cref="PerTensor"/>).</param>
    /// <param name="normType">p: ≥ 1 or +∞; the same p the norms were computed with.</param>
    /// <returns>A 0-dimensional tensor of the same type as <paramref name="norms"/>; 0 when it is empty.</returns>
    /// <exception cref="ArgumentNullException"><paramref name="norms"/> is null.</exception>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="normType"/> is NaN or below 1.</exception>
    public static Tensor Combine(Tensor norms, double normType)
    {
        ArgumentNullException.ThrowIfNull(norms);
        ClippingArguments.CheckNormType(normType, nameof(normType));
        return norms.numel() == 0
            ? zeros(Array.Empty<long>(), norms.dtype, norms.device)
            : TensorNormKernels.VectorNorm(norms, normType);
    }

    /// <summary>Computes the total (global) p-norm of all gradients, as if they were one vector.</summary>
    /// <param name="gradients">The gradient tensors.</param>
    /// <param name="normType">p: ≥ 1 or +∞.</param>
    /// <returns>A 0-dimensional float64 tensor; 0 when <paramref name="gradients"/> is empty.</returns>
    /// <exception cref="ArgumentNullException"><paramref name="gradients"/> is null.</exception>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="normType"/> is NaN or below 1.</exception>
    public static Tensor Total(IReadOnlyList<Tensor> gradients, double normType)
    {
        ArgumentNullException.ThrowIfNull(gradients);
        ClippingArguments.CheckNormType(normType, nameof(normType));
        using var scope = NewDisposeScope();
        using var noGrad = no_grad(); // as in PyTorch: clipping is bookkeeping, not part of any graph
        if (ContiguousGradients.Of(gradients) is { } buffer)
        {
            // One reduction over the whole buffer: its padding is 0 and adds nothing to any p-norm.
            var total = double.IsPositiveInfinity(normType) || buffer.Buffer.numel() <= TensorNormKernels.DirectLimit
                ? TensorNormKernels.VectorNorm(buffer.Buffer, normType).to(ScalarType.Float64)
                : TensorNormKernels.VectorNorm(TensorNormKernels.RowNorms(buffer, normType), normType);
            return total.MoveToOuterDisposeScope();
        }

        return Combine(PerTensor(gradients, normType), normType).MoveToOuterDisposeScope();
    }

    /// <summary>Computes the p-norm of each group from the per-tensor norms of its members.</summary>
    /// <param name="tensorNorms">The per-tensor norms (from <see cref="PerTensor"/>), indexed by group member position.</param>
    /// <param name="groups">The groups, whose members index <paramref name="tensorNorms"/>.</param>
    /// <param name="normType">p: ≥ 1 or +∞; the same p the per-tensor norms were computed with.</param>
    /// <returns>A vector of length <c>groups.Count</c>, of the type of <paramref name="tensorNorms"/>.</returns>
    /// <exception cref="ArgumentNullException">An argument is null.</exception>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="normType"/> is NaN or below 1.</exception>
    public static Tensor PerGroup(Tensor tensorNorms, IReadOnlyList<GradientGroup> groups, double normType)
    {
        ArgumentNullException.ThrowIfNull(tensorNorms);
        ArgumentNullException.ThrowIfNull(groups);
        ClippingArguments.CheckNormType(normType, nameof(normType));
        if (groups.Count == 0)
        {
            return zeros(0, tensorNorms.dtype, tensorNorms.device);
        }

        using var scope = NewDisposeScope();

        using var noGrad = no_grad(); // as in PyTorch: clipping is bookkeeping, not part of any graph
        var norms = groups.Select(group => group.Members.Count == 1
            ? tensorNorms[group.Members[0]]
            : TensorNormKernels.VectorNorm(
                tensorNorms.index_select(0, tensor(group.Members.Select(m => (long)m).ToArray(), device: tensorNorms.device)),
                normType));
        return stack(norms.ToArray()).MoveToOuterDisposeScope();
    }

    /// <summary>Computes clipping coefficients c = min(1, threshold / (norm + 1e-6)) element-wise.</summary>
    /// <param name="norms">Norms, any shape.</param>
    /// <param name="threshold">The maximum norm: finite and &gt; 0.</param>
    /// <returns>A tensor of the shape and type of <paramref name="norms"/>, with values in [0, 1] (NaN for a NaN norm).</returns>
    /// <exception cref="ArgumentNullException"><paramref name="norms"/> is null.</exception>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="threshold"/> is not finite and positive.</exception>
    public static Tensor Coefficients(Tensor norms, double threshold)
    {
        ArgumentNullException.ThrowIfNull(norms);
        ClippingArguments.CheckThreshold(threshold, nameof(threshold));
        using var scope = NewDisposeScope();
        using var noGrad = no_grad(); // as in PyTorch: clipping is bookkeeping, not part of any graph
        return norms.add(Epsilon).reciprocal_().mul_(threshold).clamp_max_(1.0).MoveToOuterDisposeScope();
    }

    /// <summary>Scales every gradient, in place, by one coefficient computed from a given total norm.</summary>
    /// <param name="gradients">The gradient tensors to scale.</param>
    /// <param name="totalNorm">A 0-dimensional norm, typically <see cref="Total"/> of the same gradients.</param>
    /// <param name="threshold">The maximum norm: finite and &gt; 0.</param>
    /// <returns>The 0-dimensional coefficient c = min(1, threshold / (totalNorm + 1e-6)) that was applied.</returns>
    /// <exception cref="ArgumentNullException">An argument is null.</exception>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="threshold"/> is not finite and positive.</exception>
    public static Tensor ClipWithNorm(IReadOnlyList<Tensor> gradients, Tensor totalNorm, double threshold)
    {
        ArgumentNullException.ThrowIfNull(gradients);
        using var noGrad = no_grad();
        double? known = gradients is ClipCallGradients call && call.TryGetValue(totalNorm, out var value) ? value : null;
        ClippingArguments.CheckThreshold(threshold, nameof(threshold));

        // With the total the NaN/Inf check read, c is computed and applied on the host (see ClipWithHostNorm).
        if (known is { } total)
        {
            return tensor(ClipWithHostNorm(gradients, total, threshold), totalNorm.dtype, totalNorm.device);
        }

        var coefficient = Coefficients(totalNorm, threshold);
        if (gradients.Count == 0)
        {
            return coefficient;
        }

        using var scope = NewDisposeScope();

        // Converted once per type and device: a float64 factor on a float32 gradient costs 3 times as much per call (measured).
        Tensor FactorFor(Tensor gradient) => AsTypeOf(coefficient, gradient);
        if (ContiguousGradients.Of(gradients) is { } buffer)
        {
            buffer.Buffer.mul_(FactorFor(buffer.Buffer));
            return coefficient;
        }

        var converted = FactorFor(gradients[0]);
        foreach (var gradient in gradients)
        {
            gradient.mul_(SameKind(converted, gradient) ? converted : FactorFor(gradient));
        }

        return coefficient;
    }

    /// <summary>
    /// Scales every gradient, in place, by c = min(1, threshold / (total + 1e-6)) for a total known on the host: one
    /// multiply by a scalar (none when c = 1, which would change nothing), no tensor made. Returns c.
    /// <paramref name="asCoefficients"/>: the total was scaled by an earlier rule (see the comment below).
    /// </summary>
    internal static double ClipWithHostNorm(IReadOnlyList<Tensor> gradients, double total, double threshold, bool asCoefficients = false)
    {
        // A total already scaled by an earlier rule is one the check did not read: its coefficient takes Coefficients'
        // float64 steps ((t + ε)⁻¹ · threshold), the check's own total the division, as each did before the host path.
        var coefficient = asCoefficients ? Math.Min(1.0, 1.0 / (total + Epsilon) * threshold) : Math.Min(1.0, threshold / (total + Epsilon));
        if (coefficient == 1 || gradients.Count == 0) return coefficient;
        using var noGrad = no_grad();
        using var factor = coefficient.ToScalar(); // disposed here, not left to the finalizer (TorchSharp#1434)
        if (ContiguousGradients.Of(gradients) is { } buffer)
        {
            buffer.Buffer.mul_(factor);
        }
        else
        {
            foreach (var gradient in gradients) gradient.mul_(factor);
        }

        return coefficient;
    }

    /// <summary>
    /// The coefficients of <see cref="Coefficients"/> computed on the host from norms read there: the same float64
    /// operations in the same order (add ε, reciprocal, times the threshold, at most 1), so the same values to the bit.
    /// </summary>
    internal static double[] HostCoefficients(double[] norms, double threshold)
    {
        var coefficients = new double[norms.Length];
        for (var i = 0; i < norms.Length; i++) coefficients[i] = Math.Min(1.0, 1.0 / (norms[i] + Epsilon) * threshold);
        return coefficients;
    }

    /// <summary>
    /// Scales each group's gradients in place by its host coefficient: one multiply by a scalar per member of a group
    /// whose coefficient is below 1, none for the others (× 1 would change nothing). Returns whether any was scaled.
    /// </summary>
    internal static bool ScaleGroupsOnHost(IReadOnlyList<Tensor> gradients, IReadOnlyList<GradientGroup> groups, double[] coefficients)
    {
        var scaled = false;
        using var noGrad = no_grad();
        for (var g = 0; g < groups.Count; g++)
        {
            if (coefficients[g] == 1) continue;
            using var factor = coefficients[g].ToScalar(); // disposed here, not left to the finalizer (TorchSharp#1434)
            foreach (var member in groups[g].Members) gradients[member].mul_(factor);
            scaled = true;
        }

        return scaled;
    }

    /// <summary>Scales the gradients of each group, in place, by the group's coefficient computed from given group norms.</summary>
    /// <param name="gradients">The gradient tensors that the groups' members index.</param>
    /// <param name="groups">The groups.</param>
    /// <param name="groupNorms">One norm per group, typically <see cref="PerGroup"/>.</param>
    /// <param name="threshold">The maximum norm of each group: finite and &gt; 0.</param>
    /// <returns>The coefficients that were applied, one per group.</returns>
    /// <exception cref="ArgumentNullException">An argument is null.</exception>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="threshold"/> is not finite and positive.</exception>
    /// <exception cref="ArgumentException"><paramref name="groupNorms"/> does not have one element per group.</exception>
    public static Tensor ClipWithNorms(IReadOnlyList<Tensor> gradients, IReadOnlyList<GradientGroup> groups, Tensor groupNorms, double threshold)
    {
        ArgumentNullException.ThrowIfNull(gradients);
        ArgumentNullException.ThrowIfNull(groups);
        ArgumentNullException.ThrowIfNull(groupNorms);
        if (groupNorms.numel() != groups.Count)
        {
            throw new ArgumentException(
                $"Expected one norm per group ({groups.Count}), but got {groupNorms.numel()} norms.", nameof(groupNorms));
        }

        using var noGrad = no_grad(); // as in PyTorch: clipping is bookkeeping, not part of any graph
        var coefficients = Coefficients(groupNorms.reshape(groups.Count), threshold);
        if (groups.Count == 0 || gradients.Count == 0)
        {
            return coefficients;
        }

        using var scope = NewDisposeScope();
        if (ContiguousGradients.Of(gradients) is { } buffer && CoversEachTensorOnce(groups, gradients.Count))
        {
            // Each row belongs to one tensor, each tensor to one group: one gather and one broadcast multiplication.
            var groupOf = new long[gradients.Count];
            for (var g = 0; g < groups.Count; g++)
            {
                foreach (var member in groups[g].Members)
                {
                    groupOf[member] = g;
                }
            }

            var perTensor = IsIdentity(groupOf) ? coefficients : coefficients.index_select(0, tensor(groupOf, device: coefficients.device));
            var perRow = AsTypeOf(perTensor, buffer.Buffer).index_select(0, buffer.RowOwners).unsqueeze(1);
            buffer.Rows.mul_(perRow);
            return coefficients;
        }

        var perGroup = AsTypeOf(coefficients, gradients[0]).unbind(0);
        for (var g = 0; g < groups.Count; g++)
        {
            foreach (var member in groups[g].Members)
            {
                var gradient = gradients[member];
                gradient.mul_(SameKind(perGroup[g], gradient) ? perGroup[g] : AsTypeOf(coefficients[g], gradient));
            }
        }

        return coefficients;
    }

    private static Tensor AsTypeOf(Tensor coefficient, Tensor gradient) => coefficient.to(gradient.dtype, gradient.device);

    private static bool SameKind(Tensor a, Tensor b) =>
        a.dtype == b.dtype && a.device_type == b.device_type && a.device_index == b.device_index;

    private static bool IsIdentity(long[] map)
    {
        for (var i = 0; i < map.Length; i++)
        {
            if (map[i] != i)
            {
                return false;
            }
        }

        return true;
    }

    private static bool CoversEachTensorOnce(IReadOnlyList<GradientGroup> groups, int count)
    {
        var seen = new bool[count];
        var total = 0;
        foreach (var member in groups.SelectMany(g => g.Members))
        {
            if (member >= count || seen[member])
            {
                return false;
            }

            seen[member] = true;
            total++;
        }

        return total == count;
    }
}
