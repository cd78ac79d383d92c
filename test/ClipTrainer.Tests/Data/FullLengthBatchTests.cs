using ClipTrainer.Data;
using Microsoft.ML;
using Microsoft.ML.Data;
using Xunit;
using static TorchSharp.torch;

namespace ClipTrainer.Tests.Data;

/// <summary>
/// Batches of full-length rows: an uninitialised tensor filled row by row (every element written), a lengths tensor
/// made only when asked for and owned by the batch; and the ML.NET key convention the benchmark's labels rely on.
/// </summary>
public sealed class FullLengthBatchTests
{
    [Fact]
    public void SparseRows_FullLength_EveryElementWritten()
    {
        for (var attempt = 0; attempt < 20; attempt++)
        {
            using (full([64, 3, 2], 99f)) { } // leave non-zero bytes for the allocator to hand back
            var sparse = new VBuffer<float>(6, 1, [5f], [3]);
            var (features, lengths) = SequenceTensorFactory.Create(new[] { sparse, sparse }, 2);
            using (features)
            {
                Assert.Null(lengths);
                Assert.Equal([0f, 0, 0, 5, 0, 0, 0, 0, 0, 5, 0, 0], features.data<float>().ToArray());
            }
        }
    }

    [Fact]
    public void FullLengthBatch_LengthsReadInAnInnerScope_StillReadableAfterIt_FreedWithTheBatch()
    {
        var dataset = SequenceDataset.CreateMulticlass(2, 3, [[1, 2, 3, 4], [5, 6, 7, 8], [9, 10, 11, 12]], [0, 1, 2]);
        var batch = new SequenceBatcher(dataset, 3, shuffle: false, seed: 0).CreateBatch([0, 1, 2]);
        using (NewDisposeScope())
        {
            Assert.Equal([2L, 2, 2], batch.Lengths.data<long>().ToArray());
        }

        var lengths = batch.Lengths;
        Assert.Equal([2L, 2, 2], lengths.data<long>().ToArray());
        batch.Dispose();
        Assert.True(lengths.IsInvalid);
    }

    public sealed class KeyRow
    {
        [VectorType(2)]
        public float[] Features { get; set; } = [];

        [KeyType(3)]
        public uint Label { get; set; }
    }

    [Fact]
    public void LoadFromEnumerable_KeyMember_IsReadAsAZeroBasedIndex()
    {
        // What the data-path benchmark's labels rely on: member v reads back as key v + 1; v = count as the missing key 0.
        var mlContext = new MLContext(seed: 1);
        var data = mlContext.Data.LoadFromEnumerable(new uint[] { 0, 1, 2, 3 }.Select(v => new KeyRow { Features = [1, 2], Label = v }));
        var keys = new List<uint>();
        using (var cursor = data.GetRowCursor(data.Schema))
        {
            var getter = cursor.GetGetter<uint>(data.Schema["Label"]);
            uint key = 0;
            while (cursor.MoveNext())
            {
                getter(ref key);
                keys.Add(key);
            }
        }

        Assert.Equal([1u, 2, 3, 0], keys);
    }
}
