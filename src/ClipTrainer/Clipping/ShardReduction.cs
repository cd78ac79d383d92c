namespace ClipTrainer.Clipping;

/// <summary>The element-wise reduction an all-reduce of <see cref="ShardedGradientNorms"/> performs across shards.</summary>
public enum ShardReduction
{
    /// <summary>The element-wise maximum (MPI's <c>MPI_MAX</c>, NCCL's <c>ncclMax</c>).</summary>
    Maximum,

    /// <summary>The element-wise sum (MPI's <c>MPI_SUM</c>, NCCL's <c>ncclSum</c>).</summary>
    Sum,
}
