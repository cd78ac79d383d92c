namespace ClipTrainer.Data;

/// <summary>
/// The batch-source port of the training loop: where an epoch's batches come from. The in-memory
/// <see cref="SequenceBatcher"/> is one implementation; a source that reads or generates batches as it goes is another.
/// </summary>
/// <remarks>
/// The loop disposes every batch it receives after its step. Batches must be on the CPU or the training device (the
/// loop moves them to the device). Labels follow <see cref="SequenceBatch.Labels"/>: int64 class indices for multiclass
/// classification, float32 targets otherwise.
/// </remarks>
public interface ISequenceBatchSource
{
    /// <summary>
    /// Gets the number of batches every epoch yields, or null when it is not known in advance (then the loop needs a
    /// constant learning-rate schedule, since the scheduled ones are functions of the total number of steps).
    /// </summary>
    int? BatchesPerEpoch { get; }

    /// <summary>Enumerates one epoch's batches, lazily; the same epoch number gives the same batches in the same order.</summary>
    /// <param name="epoch">The 1-based epoch of training, or 0 for an evaluation pass.</param>
    /// <returns>The batches; each is disposed by the caller.</returns>
    IEnumerable<SequenceBatch> GetBatches(int epoch);
}
