using TorchSharp;
using static TorchSharp.torch;

namespace ClipTrainer.Clipping;

/// <summary>
/// Gradient norms of a model whose gradients are split across shards (ranks, devices; each holds some elements of
/// some tensors, as FSDP or ZeRO keep them), as partial results that any engine all-reduces, plus the step that
/// combines them: total, per-tensor and per-layer norms, overflow-safe for every p.
/// </summary>
/// <remarks>
/// <para>
/// Each shard first computes its local norms nᵣ with <see cref="GradientNorms"/> (<see cref="GradientNorms.Total"/>,
/// <see cref="GradientNorms.PerTensor"/> over its slices, in one agreed order, a slice with no elements having norm 0).
/// Then, element-wise: the scale M = maxᵣ nᵣ (an all-reduce with <see cref="ShardReduction.Maximum"/> of a copy of
/// the local norms), the partial sums sᵣ = (nᵣ / M)ᵖ from <see cref="PowerSums"/> (an all-reduce with
/// <see cref="ShardReduction.Sum"/>), and the norm ‖g‖ₚ = M·(Σᵣ sᵣ)^(1/p) from <see cref="Finish"/>. This equals
/// (Σᵣ Σᵢ |gᵢ|ᵖ)^(1/p), the single-process norm, but no term exceeds 1 and the largest is 1, so nothing overflows or
/// vanishes (the same scaling as <see cref="GradientNorms"/> uses for large p). For p = ∞ the norm is M and the sum
/// step is skipped. Per-layer norms are <see cref="GradientNorms.PerGroup"/> of the combined per-tensor norms.
/// </para>
/// <para>
/// Every shard then clips its own slices with the combined norms (<see cref="GradientNorms.ClipWithNorm"/>,
/// <see cref="GradientNorms.ClipWithNorms"/>) and so applies the coefficients a single process would. The all-reduce
/// tensors are float64 vectors of one element per norm: two small messages per clip, whatever the model size.
/// </para>
/// </remarks>
public static class ShardedGradientNorms
{
    /// <summary>Gets whether the sum step is needed for order p (it is not for p = ∞, where the norm is the maximum).</summary>
    /// <param name="normType">p: ≥ 1 or +∞.</param>
    /// <returns>False for p = +∞; true otherwise.</returns>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="normType"/> is NaN or below 1.</exception>
    public static bool NeedsSum(double normType)
    {
        ClippingArguments.CheckNormType(normType, nameof(normType));
        return !double.IsPositiveInfinity(normType);
    }

    /// <summary>Computes a shard's partial sums sᵣ = (nᵣ / M)ᵖ element-wise, to be all-reduced with <see cref="ShardReduction.Sum"/>.</summary>
    /// <param name="localNorms">The shard's local norms nᵣ (any shape; 0-dimensional for a total).</param>
    /// <param name="scale">The global scale M = maxᵣ nᵣ, of the same shape (the all-reduced maximum of the local norms).</param>
    /// <param name="normType">p: ≥ 1 or +∞ (for +∞ the result is all zeros and need not be reduced).</param>
    /// <returns>A new float64 tensor of the shape of <paramref name="localNorms"/>, values in [0, 1]; 0 where M = 0.</returns>
    /// <exception cref="ArgumentNullException">An argument is null.</exception>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="normType"/> is NaN or below 1.</exception>
    /// <exception cref="ArgumentException">The shapes differ.</exception>
    public static Tensor PowerSums(Tensor localNorms, Tensor scale, double normType)
    {
        ArgumentNullException.ThrowIfNull(localNorms);
        ArgumentNullException.ThrowIfNull(scale);
        CheckSameShape(localNorms, scale, nameof(scale));
        if (!NeedsSum(normType))
        {
            return zeros_like(localNorms, ScalarType.Float64);
        }

        using var scope = NewDisposeScope();
        using var noGrad = no_grad();
        var m = scale.to(ScalarType.Float64, localNorms.device);
        var ratios = localNorms.to(ScalarType.Float64).div(m.masked_fill(m.eq(0), 1)); // M = 0: every nᵣ is 0, and so is 0/1
        var powered = normType switch
        {
            1 => ratios,
            2 => ratios.mul_(ratios),
            _ => ratios.pow_(normType),
        };
        return powered.MoveToOuterDisposeScope();
    }

    /// <summary>Computes the norms M·S^(1/p) from the global scale and the all-reduced partial sums.</summary>
    /// <param name="scale">The global scale M (the all-reduced maximum of the local norms).</param>
    /// <param name="sums">The all-reduced sum S of every shard's <see cref="PowerSums"/>, of the same shape (ignored for p = ∞).</param>
    /// <param name="normType">p: ≥ 1 or +∞; the p the local norms were computed with.</param>
    /// <returns>A new float64 tensor of the shape of <paramref name="scale"/>: the norms of the whole (unsharded) gradients.</returns>
    /// <exception cref="ArgumentNullException">An argument is null.</exception>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="normType"/> is NaN or below 1.</exception>
    /// <exception cref="ArgumentException">The shapes differ.</exception>
    public static Tensor Finish(Tensor scale, Tensor sums, double normType)
    {
        ArgumentNullException.ThrowIfNull(scale);
        ArgumentNullException.ThrowIfNull(sums);
        CheckSameShape(scale, sums, nameof(sums));
        using var scope = NewDisposeScope();
        using var noGrad = no_grad();
        var m = scale.to(ScalarType.Float64);
        if (!NeedsSum(normType))
        {
            return m.clone().MoveToOuterDisposeScope();
        }

        var s = sums.to(ScalarType.Float64, m.device);
        var root = normType switch
        {
            1 => s,
            2 => s.sqrt(),
            _ => s.pow(1 / normType),
        };
        return root.mul(m).MoveToOuterDisposeScope();
    }

    /// <summary>
    /// Combines a shard's local norms into the norms of the whole gradients in one call, given an all-reduce: a
    /// maximum, then (for finite p) a sum, each on a float64 tensor the engine reduces in place across all shards.
    /// </summary>
    /// <param name="localNorms">The shard's local norms (see the remarks of <see cref="ShardedGradientNorms"/>).</param>
    /// <param name="normType">p: ≥ 1 or +∞.</param>
    /// <param name="allReduceInPlace">Reduces the given contiguous float64 CPU-or-device tensor element-wise across
    /// every shard and writes the result into it, on every shard (every shard must call this method collectively).</param>
    /// <returns>A new float64 tensor of the shape of <paramref name="localNorms"/>, the same on every shard.</returns>
    /// <exception cref="ArgumentNullException">An argument is null.</exception>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="normType"/> is NaN or below 1.</exception>
    public static Tensor Combine(Tensor localNorms, double normType, Action<Tensor, ShardReduction> allReduceInPlace)
    {
        ArgumentNullException.ThrowIfNull(localNorms);
        ArgumentNullException.ThrowIfNull(allReduceInPlace);
        var needsSum = NeedsSum(normType);
        using var scope = NewDisposeScope();
        using var noGrad = no_grad();
        var scale = localNorms.to(ScalarType.Float64).contiguous().clone();
        allReduceInPlace(scale, ShardReduction.Maximum);
        if (!needsSum)
        {
            return scale.MoveToOuterDisposeScope();
        }

        var sums = PowerSums(localNorms, scale, normType).contiguous();
        allReduceInPlace(sums, ShardReduction.Sum);
        return Finish(scale, sums, normType).MoveToOuterDisposeScope();
    }

    private static void CheckSameShape(Tensor expected, Tensor actual, string parameterName)
    {
        if (!expected.shape.SequenceEqual(actual.shape))
        {
            throw new ArgumentException(
                $"Expected a tensor of shape [{string.Join(", ", expected.shape)}] (one value per norm), but got [{string.Join(", ", actual.shape)}].",
                parameterName);
        }
    }
}
