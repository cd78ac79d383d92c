using static TorchSharp.torch;

namespace ClipTrainer.Data;

/// <summary>
/// Cuts a <see cref="SequenceDataset"/> into tensor batches, in a seeded shuffled order per epoch or in dataset order.
/// </summary>
/// <remarks>
/// <para>
/// An epoch visits every row once: <see cref="NumberOfBatches"/> batches of <see cref="BatchSize"/> rows, the last one
/// smaller when the count does not divide evenly. With shuffling, the order depends only on (seed, epoch), so a run can
/// be repeated, and epoch <c>e</c> has the same order whether or not earlier epochs were enumerated.
/// </para>
/// <para>
/// Each batch's features are zero-padded to its own longest row. The tensors belong to the returned
/// <see cref="SequenceBatch"/> (see its remarks for dispose scopes).
/// </para>
/// </remarks>
public sealed class SequenceBatcher : ISequenceBatchSource
{
    /// <summary>
    /// Creates a batcher.
    /// </summary>
    /// <param name="dataset">The rows to batch.</param>
    /// <param name="batchSize">The number of rows per batch. Range: &gt; 0.</param>
    /// <param name="shuffle">Whether each epoch visits the rows in a seeded random order instead of dataset order.</param>
    /// <param name="seed">The shuffling seed.</param>
    /// <exception cref="ArgumentNullException"><paramref name="dataset"/> is <see langword="null"/>.</exception>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="batchSize"/> is not positive.</exception>
    public SequenceBatcher(SequenceDataset dataset, int batchSize, bool shuffle, int seed)
    {
        ArgumentNullException.ThrowIfNull(dataset);
        if (!(batchSize > 0))
        {
            throw new ArgumentOutOfRangeException(nameof(batchSize), batchSize, $"BatchSize must be greater than 0; got {batchSize}.");
        }

        Dataset = dataset;
        BatchSize = batchSize;
        Shuffle = shuffle;
        Seed = seed;
    }

    /// <summary>
    /// Gets the rows being batched.
    /// </summary>
    public SequenceDataset Dataset { get; }

    /// <summary>
    /// Gets the number of rows per batch (the last batch of an epoch may hold fewer).
    /// </summary>
    public int BatchSize { get; }

    /// <summary>
    /// Gets whether each epoch is shuffled.
    /// </summary>
    public bool Shuffle { get; }

    /// <summary>
    /// Gets the shuffling seed.
    /// </summary>
    public int Seed { get; }

    /// <summary>
    /// Gets the number of batches per epoch: ⌈Count ÷ BatchSize⌉.
    /// </summary>
    public int NumberOfBatches => (int)(((long)Dataset.Count + BatchSize - 1) / BatchSize);

    /// <inheritdoc/>
    int? ISequenceBatchSource.BatchesPerEpoch => NumberOfBatches;

    /// <inheritdoc/>
    IEnumerable<SequenceBatch> ISequenceBatchSource.GetBatches(int epoch) => GetBatches(epoch);

    /// <summary>
    /// Gets the order in which an epoch visits the dataset's rows.
    /// </summary>
    /// <param name="epoch">The 0-based epoch. Range: ≥ 0.</param>
    /// <returns>A permutation of 0..Count−1: the identity without shuffling, else a function of (Seed, epoch) only.</returns>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="epoch"/> is negative.</exception>
    public int[] GetRowOrder(int epoch)
    {
        if (!(epoch >= 0))
        {
            throw new ArgumentOutOfRangeException(nameof(epoch), epoch, $"Epoch must be at least 0; got {epoch}.");
        }

        return Shuffle ? SeededPermutation.Create(Dataset.Count, Seed, epoch) : Enumerable.Range(0, Dataset.Count).ToArray();
    }

    /// <summary>
    /// Enumerates an epoch's batches lazily: each batch's tensors are made when it is reached.
    /// </summary>
    /// <param name="epoch">The 0-based epoch. Range: ≥ 0.</param>
    /// <param name="device">The device for the tensors; <see langword="null"/> for the CPU.</param>
    /// <returns>The epoch's batches; the caller disposes each one (or its enclosing dispose scope does).</returns>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="epoch"/> is negative.</exception>
    public IEnumerable<SequenceBatch> GetBatches(int epoch, Device? device = null)
    {
        var order = GetRowOrder(epoch);
        return Enumerate(order, device);
    }

    /// <summary>
    /// Makes one batch of the given dataset rows, in the given order.
    /// </summary>
    /// <param name="rowIndices">The dataset rows. Each in [0, Count); at least one.</param>
    /// <param name="device">The device for the tensors; <see langword="null"/> for the CPU.</param>
    /// <returns>A batch owning new tensors (see <see cref="SequenceBatch"/>).</returns>
    /// <exception cref="ArgumentNullException"><paramref name="rowIndices"/> is <see langword="null"/>.</exception>
    /// <exception cref="ArgumentException"><paramref name="rowIndices"/> is empty.</exception>
    /// <exception cref="ArgumentOutOfRangeException">A row index is outside [0, Count).</exception>
    public SequenceBatch CreateBatch(IReadOnlyList<int> rowIndices, Device? device = null)
    {
        ArgumentNullException.ThrowIfNull(rowIndices);
        if (rowIndices.Count == 0)
        {
            throw new ArgumentException("A batch needs at least one row.", nameof(rowIndices));
        }

        var rows = rowIndices.ToArray();
        var (features, lengths, time) = SequencePadding.ToTensors(rows.Length, Dataset.InputSize,
            b => Dataset.GetSequenceLength(rows[b]), (b, destination) => Dataset.GetFeatures(rows[b]).CopyTo(destination), device);
        return new SequenceBatch(features, lengths, time, Dataset.GetLabels(rows, device), rows);
    }

    private IEnumerable<SequenceBatch> Enumerate(int[] order, Device? device)
    {
        for (var start = 0; start < order.Length; start += BatchSize)
        {
            var end = Math.Min(start + BatchSize, order.Length);
            yield return CreateBatch(new ArraySegment<int>(order, start, end - start), device);
        }
    }
}
