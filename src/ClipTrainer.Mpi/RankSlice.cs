using ClipTrainer.Data;
using static TorchSharp.torch;

namespace ClipTrainer.Mpi;

/// <summary>One rank's contiguous share of every batch of a global source (see <see cref="DataParallelCallback.Slice"/>).</summary>
internal sealed class RankSlice(ISequenceBatchSource global, int rank, int size) : ISequenceBatchSource
{
    public int? BatchesPerEpoch => global.BatchesPerEpoch;

    public IEnumerable<SequenceBatch> GetBatches(int epoch)
    {
        foreach (var batch in global.GetBatches(epoch))
        {
            using (batch)
            {
                yield return Take(batch);
            }
        }
    }

    /// <summary>Gets the batch last yielded for an empty share (its one row weighs 0), or null when that batch had rows.</summary>
    public SequenceBatch? CurrentPlaceholder { get; private set; }

    private SequenceBatch Take(SequenceBatch batch)
    {
        var count = batch.Count;
        var start = (int)((long)rank * count / size);
        var end = (int)((long)(rank + 1) * count / size);
        var placeholder = end == start;
        if (placeholder) (start, end) = (0, 1); // a share of nothing: one row that the callback weighs 0

        // Copies, not views: the loop disposes the slice, the global batch is disposed here.
        using var scope = NewDisposeScope();
        var features = batch.Features.narrow(0, start, end - start).clone();
        var lengths = batch.Lengths.narrow(0, start, end - start).clone();
        var labels = batch.Labels.narrow(0, start, end - start).clone();
        var rows = batch.RowIndices.Skip(start).Take(end - start).ToArray();
        features.MoveToOuterDisposeScope();
        lengths.MoveToOuterDisposeScope();
        labels.MoveToOuterDisposeScope();
        var slice = new SequenceBatch(features, lengths, labels, rows);
        CurrentPlaceholder = placeholder ? slice : null;
        return slice;
    }
}
