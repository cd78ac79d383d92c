using Microsoft.ML;
using static TorchSharp.torch;

namespace ClipTrainer.Data;

/// <summary>
/// A streaming batch source: every epoch reads the <see cref="IDataView"/> again with a cursor and shuffles through a
/// bounded buffer, so memory holds the buffer and one batch, never the data set (the trainer's
/// <c>StreamingShuffleBufferSize</c>).
/// </summary>
/// <remarks>
/// <para>Rows are checked as they are read, by the same <see cref="SequenceRowReader"/> as the in-memory path. One
/// counting pass over the label column alone, when the source is made, finds the number of labelled rows, so
/// <see cref="BatchesPerEpoch"/> is known and the scheduled learning rates work; it also finds label errors before
/// training. A feature error is found when its row is first read, in epoch 1.</para>
/// <para>Shuffling with a buffer of K rows (a uniformly random slot of the full buffer is emitted and refilled with the
/// next row; at the end the buffer is emitted in a uniformly random order), numbering the labelled rows in the data's
/// order: a row comes out at most K − 1 positions before its own position, and more than d positions after it with
/// probability (1 − 1/K)^(d + K) ≈ e^−(1 + d/K) (so a displacement of a few K at most, and 0 on average); K ≥ the number
/// of rows gives a uniformly random permutation. Data sorted by label needs K larger than a label's run for batches to
/// mix labels. The draws depend only on (seed, epoch): the same seed gives the same batches.</para>
/// </remarks>
internal sealed class DataViewBatchSource : ISequenceBatchSource
{
    private readonly IDataView _data;
    private readonly SequenceFeatureColumnInfo _features;
    private readonly SequenceLabelColumnInfo _label;
    private readonly int _batchSize;
    private readonly int _shuffleBufferSize;
    private readonly int _seed;
    private readonly string _messagePrefix;

    /// <summary>Feature bytes read between two induced full collections (see <see cref="GetBatches"/>).</summary>
    private const long CollectionInterval = 64L << 20;

    private DataViewBatchSource(IDataView data, SequenceFeatureColumnInfo features, SequenceLabelColumnInfo label, int batchSize,
        int shuffleBufferSize, int seed, string messagePrefix, long rowCount, long skippedRowCount)
    {
        (_data, _features, _label, _batchSize, _shuffleBufferSize, _seed, _messagePrefix) =
            (data, features, label, batchSize, shuffleBufferSize, seed, messagePrefix);
        RowCount = rowCount;
        SkippedRowCount = skippedRowCount;
    }

    /// <summary>Checks the columns and counts the labelled rows in one pass over the label column.</summary>
    /// <param name="data">The data; read again every epoch.</param>
    /// <param name="features">The feature column, as the schema checks accepted it.</param>
    /// <param name="label">The label column, as the schema checks accepted it.</param>
    /// <param name="batchSize">Rows per batch. Range: &gt; 0.</param>
    /// <param name="shuffleBufferSize">The shuffle buffer's rows; 1 keeps the data's order. Range: &gt; 0.</param>
    /// <param name="seed">The shuffling seed.</param>
    /// <param name="messagePrefix">Put before every data error's message (e.g. "In the ValidationSet: ").</param>
    /// <exception cref="ArgumentOutOfRangeException">A column is missing or of the wrong type.</exception>
    /// <exception cref="InvalidOperationException">A label is infinite or a key beyond its type's count.</exception>
    public static DataViewBatchSource Create(IDataView data, SequenceFeatureColumnInfo features, SequenceLabelColumnInfo label,
        int batchSize, int shuffleBufferSize, int seed, string messagePrefix = "")
    {
        long rows = 0, skipped = 0;
        using (var reader = new SequenceRowReader(data, features: null, label, messagePrefix))
        {
            while (reader.MoveNext())
            {
                if (reader.IsMissing) skipped++;
                else rows++;
            }
        }
        // The batch count is an int in the loop; a source of more batches than that is far beyond what one run can read.
        if ((rows + batchSize - 1) / batchSize > int.MaxValue)
            throw new InvalidOperationException($"{messagePrefix}The data has {rows} labelled rows: more than {int.MaxValue} batches of {batchSize}; raise BatchSize.");
        return new DataViewBatchSource(data, features, label, batchSize, shuffleBufferSize, seed, messagePrefix, rows, skipped);
    }

    /// <summary>Gets the number of labelled rows an epoch yields.</summary>
    public long RowCount { get; }

    /// <summary>Gets the number of rows left out because their label was missing.</summary>
    public long SkippedRowCount { get; }

    /// <inheritdoc/>
    public int? BatchesPerEpoch => (int)((RowCount + _batchSize - 1) / _batchSize);

    /// <inheritdoc/>
    /// <exception cref="InvalidOperationException">A row fails its checks, or the data yielded another number of labelled
    /// rows than the counting pass found (it changed while training).</exception>
    public IEnumerable<SequenceBatch> GetBatches(int epoch)
    {
        // Epoch 0 is an evaluation pass: the data's order.
        bool shuffle = epoch > 0 && _shuffleBufferSize > 1;
        var state = SeededPermutation.InitialState(_seed, epoch);
        var buffer = new List<BufferedRow>(shuffle ? (int)Math.Min(_shuffleBufferSize, RowCount) : 0);
        var pending = new List<BufferedRow>(_batchSize);
        // The arrays of rows already batched hold the next rows: steady streaming allocates no array per row.
        var spare = new Stack<float[]>();
        long read = 0, bytesSinceCollection = 0;
        using (var rows = new SequenceRowReader(_data, _features, _label, _messagePrefix))
        {
            while (rows.MoveNext())
            {
                if (rows.IsMissing) continue;
                read++;
                var features = spare.TryPeek(out var reused) && reused.Length == rows.Features.Length ? spare.Pop() : new float[rows.Features.Length];
                rows.Features.CopyTo(features);
                bytesSinceCollection += features.Length * sizeof(float);
                var row = new BufferedRow(features, rows.ClassIndex, rows.Target, rows.Position);
                if (!shuffle) pending.Add(row);
                else if (buffer.Count < _shuffleBufferSize)
                {
                    buffer.Add(row);
                    continue;
                }
                else
                {
                    // The modulo bias is below K / 2^64.
                    int slot = (int)(SeededPermutation.Next(ref state) % (ulong)_shuffleBufferSize);
                    pending.Add(buffer[slot]);
                    buffer[slot] = row;
                }
                if (pending.Count == _batchSize)
                {
                    yield return CreateBatch(pending);
                    foreach (var batched in pending) spare.Push(batched.Features);
                    pending.Clear();
                    // A cursor's block buffers are large-object garbage, freed (and, compacted, given back) only by full
                    // collections, which the GC may put off for hundreds of MB: the peak then grows with the rows read.
                    // One compacting full collection per 64 MB of features read (a few ms over a small live heap) bounds it.
                    if (bytesSinceCollection >= CollectionInterval)
                    {
                        System.Runtime.GCSettings.LargeObjectHeapCompactionMode = System.Runtime.GCLargeObjectHeapCompactionMode.CompactOnce;
                        GC.Collect();
                        bytesSinceCollection = 0;
                    }
                }
            }
        }

        if (read != RowCount)
            throw new InvalidOperationException(
                $"{_messagePrefix}The data yielded {read} labelled rows in epoch {epoch}, but {RowCount} when it was counted: it changed while training.");
        for (int i = buffer.Count - 1; i > 0; i--)
        {
            int j = (int)(SeededPermutation.Next(ref state) % (ulong)(i + 1));
            (buffer[i], buffer[j]) = (buffer[j], buffer[i]);
        }
        foreach (var row in buffer)
        {
            pending.Add(row);
            if (pending.Count == _batchSize)
            {
                yield return CreateBatch(pending);
                pending.Clear();
            }
        }
        if (pending.Count > 0) yield return CreateBatch(pending);
    }

    private SequenceBatch CreateBatch(List<BufferedRow> rows)
    {
        int inputSize = _features.InputSize;
        var (features, lengths, time) = SequencePadding.ToTensors(rows.Count, inputSize, b => rows[b].Features.Length / inputSize,
            (b, destination) => rows[b].Features.CopyTo(destination), device: null);
        var labels = _label.Kind == SequenceTask.MulticlassClassification
            ? SequencePadding.Int64(rows.Count, b => rows[b].ClassIndex, device: null)
            : SequencePadding.Float32(rows.Count, b => rows[b].Target, device: null);
        var positions = new int[rows.Count];
        for (var b = 0; b < rows.Count; b++) positions[b] = (int)Math.Min(rows[b].Position, int.MaxValue); // SequenceBatch holds row indices as int, enough for 2^31 rows
        return new SequenceBatch(features, lengths, time, labels, positions);
    }

    private readonly record struct BufferedRow(float[] Features, long ClassIndex, float Target, long Position);
}
