using static TorchSharp.torch;

namespace ClipTrainer.Clipping;

/// <summary>
/// The two ways a norm of one gradient tensor is computed: the fast blocked one used on every call, and the exact
/// float64 one used when the fast one cannot be trusted (an overflowed or vanishing total).
/// </summary>
/// <remarks>
/// Measured on this project's machine (libtorch 2.10, one thread), relative error of the L2 norm of 2²¹ float32
/// elements against a float64 reference: libtorch's float32 <c>vector_norm</c> 3.3e-5, float32 <c>dot</c> 1.1e-5,
/// float32 norms of rows of 1,024 elements combined in float64 1.1e-9 (rows of 256: 2.8e-10), the float64 copy
/// 1e-14. Cost of a pass over 12.7M elements: rows of 1,024 4.2 ms, plain <c>vector_norm</c> 4.2 ms, float64 copy
/// then <c>dot</c> 70 ms; a tensor's own short rows (<c>dim: -1</c> of 512 × 128) reduce twice as slowly as rows of
/// 1,024. So rows of <see cref="BlockLength"/> elements are reduced in the gradient's type (float32, or float64 for
/// float64 gradients) and only the row norms are combined in float64; a tensor of at most
/// <see cref="DirectLimit"/> elements is one row. (One float32 reduction over more elements is less accurate: worst
/// of 5 seeds, L2 2.6e-7 at 16,384 elements; L1 of 400 model-like tensors of 2,500–5,000 elements 4.7e-7.)
/// </remarks>
internal static class TensorNormKernels
{
    public const long BlockLength = 1024;
    public const long DirectLimit = BlockLength;
    private const long ChunkElements = 1 << 20;

    /// <summary>
    /// Whether p-norms of order <paramref name="normType"/> are computed as m·‖x/m‖ₚ with m = max|xᵢ|: every p except
    /// 1, 2 and ∞. |x|ᵖ overflows float64 for |x| &gt; 2.03 at p = 1000 (float32: 1.09) and vanishes below 0.49, so the
    /// plain sum turns a finite norm into ∞ or 0; divided by m every term is in [0, 1] and the largest is 1. L1 and L2
    /// keep the plain kernels (their float32 range limits are handled by the exact float64 fallback), so the common
    /// case pays nothing.
    /// </summary>
    public static bool IsScaled(double normType) => normType is not (1 or 2) && !double.IsPositiveInfinity(normType);

    /// <summary>
    /// <c>linalg.vector_norm</c>, overflow- and underflow-safe for every p (see <see cref="IsScaled"/>): over all
    /// elements, or over <paramref name="dimension"/> (then one norm per slice). A zero vector has norm 0; an infinite
    /// element gives NaN for a scaled p (∞/∞), which every caller treats as non-finite, as it does ∞.
    /// </summary>
    public static Tensor VectorNorm(Tensor values, double normType, long? dimension = null)
    {
        if (!IsScaled(normType))
        {
            return dimension is { } d ? LinalgVectorNorm.Compute(values, normType, [d]) : LinalgVectorNorm.Compute(values, normType);
        }

        using var scope = NewDisposeScope();
        var magnitudes = values.abs();
        var scale = dimension is { } dim ? magnitudes.amax([dim], keepdim: true) : magnitudes.max();
        var divisor = scale.masked_fill(scale.eq(0), 1); // a zero slice: 0/1 = 0, its norm stays 0
        var unit = dimension is { } reduce
            ? LinalgVectorNorm.Compute(magnitudes.div_(divisor), normType, [reduce])
            : LinalgVectorNorm.Compute(magnitudes.div_(divisor), normType);
        return unit.mul_(dimension is { } squeeze ? scale.squeeze(squeeze) : scale).MoveToOuterDisposeScope();
    }


    /// <summary>The p-norm of one gradient as a 0-dimensional tensor of its reduction type (float32 or float64).</summary>
    public static Tensor Fast(Tensor gradient, double normType)
    {
        var values = ReductionType(gradient);
        var count = values.numel();
        if (count == 0)
        {
            return zeros(Array.Empty<long>(), values.dtype, values.device);
        }

        if (double.IsPositiveInfinity(normType) || count <= DirectLimit)
        {
            return VectorNorm(values, normType);
        }

        var rows = count / BlockLength;
        if (rows * BlockLength == count)
        {
            // The common case (sizes such as 4·hidden × input): one view, one row reduction, one combination.
            return VectorNorm(VectorNorm(values.reshape(rows, BlockLength), normType, 1).to(ScalarType.Float64), normType).to(values.dtype);
        }

        var flat = values.reshape(-1);
        var blocks = VectorNorm(flat.narrow(0, 0, rows * BlockLength).view(rows, BlockLength), normType, 1).to(ScalarType.Float64);
        var tail = count - rows * BlockLength;
        if (tail > 0)
        {
            blocks = cat([blocks, VectorNorm(flat.narrow(0, rows * BlockLength, tail), normType).to(ScalarType.Float64).unsqueeze(0)]);
        }

        return VectorNorm(blocks, normType).to(values.dtype);
    }

    /// <summary>
    /// Rows of the buffer reduced to float64 row p-norms, and their p-th powers summed per tensor: the per-tensor
    /// norms of a contiguous buffer in five calls. The per-tensor sums of p-th powers are only taken for p = 1 and 2:
    /// a scaled p (<see cref="IsScaled"/>) would need a maximum per segment, so its per-tensor norms are taken tensor
    /// by tensor instead (callers check <see cref="IsScaled"/>).
    /// </summary>
    public static Tensor RowNorms(ContiguousGradients buffer, double normType) =>
        VectorNorm(buffer.Rows, normType, 1).to(ScalarType.Float64);

    public static Tensor PerTensorFromRows(ContiguousGradients buffer, Tensor rowNorms, double normType)
    {
        if (normType is not (1 or 2))
        {
            throw new ArgumentOutOfRangeException(nameof(normType), normType, "Per-tensor norms from row norms are summed for p = 1 and 2 only.");
        }

        var powered = normType == 1 ? rowNorms : rowNorms.square();
        var sums = buffer.RowMembership is { } membership
            ? membership.mv(powered)
            : zeros(buffer.Count, ScalarType.Float64, rowNorms.device).index_add_(0, buffer.RowOwners, powered, 1.0);
        return normType == 1 ? sums : sums.sqrt_();
    }

    /// <summary>The exact p-norm of one gradient, accumulated in float64 (2²⁰ elements converted at a time).</summary>
    public static Tensor Precise(Tensor gradient, double normType)
    {
        var flat = gradient.reshape(-1);
        if (flat.numel() == 0)
        {
            return zeros(Array.Empty<long>(), ScalarType.Float64, gradient.device);
        }

        if (double.IsPositiveInfinity(normType))
        {
            // max |gᵢ| is exact in any precision: no conversion needed.
            return flat.abs().max().to(ScalarType.Float64);
        }

        var count = flat.numel();
        if (count <= ChunkElements)
        {
            return Norm64(flat.to(ScalarType.Float64), normType);
        }

        var parts = new List<Tensor>();
        for (long start = 0; start < count; start += ChunkElements)
        {
            using var chunk = flat.narrow(0, start, Math.Min(ChunkElements, count - start)).to(ScalarType.Float64);
            parts.Add(Norm64(chunk, normType));
        }

        return VectorNorm(stack(parts), normType);
    }

    // Half and bfloat16 norms would be rounded to 3 significant digits and overflow at 65,504: reduce them in float32.
    private static Tensor ReductionType(Tensor gradient) =>
        gradient.dtype is ScalarType.Float32 or ScalarType.Float64 ? gradient : gradient.to(ScalarType.Float32);

    private static Tensor Norm64(Tensor values, double normType) => normType switch
    {
        1 => values.abs().sum(),
        2 => values.dot(values).sqrt(),
        _ => VectorNorm(values, normType),
    };
}
