using ClipTrainer.Data;
using Microsoft.ML;
using Microsoft.ML.Data;
using Xunit;
using static TorchSharp.torch;

namespace ClipTrainer.Tests.Data;

/// <summary>The streaming source on rows whose first feature is the row's number, so a batch says which rows it holds.</summary>
public class DataViewBatchSourceTests
{
    private static readonly MLContext Context = new(seed: 1);

    public sealed class NumberedRow
    {
        [VectorType(6)] public float[] Features { get; set; } = [];
        public float Label { get; set; }
    }

    /// <summary>Rows 0..count−1: features [n, n+0.5, 1, …], label n, or NaN (missing) for the rows in <paramref name="missing"/>.</summary>
    private static IDataView Numbered(int count, params int[] missing) => Context.Data.LoadFromEnumerable(Enumerable.Range(0, count)
        .Select(n => new NumberedRow { Features = [n, n + 0.5f, 1, 1, 1, 1], Label = missing.Contains(n) ? float.NaN : n }).ToList());

    private static DataViewBatchSource Source(IDataView data, int batchSize, int bufferSize, int seed = 7) => DataViewBatchSource.Create(data,
        SequenceSchemaChecks.CheckFeatureColumn(data.Schema, "Features", 3, 2), SequenceSchemaChecks.CheckLabelColumn(data.Schema, "Label", SequenceTask.Regression),
        batchSize, bufferSize, seed);

    /// <summary>Per batch, the row numbers read back from the features (time step 0, feature 0).</summary>
    private static List<int[]> RowsOf(DataViewBatchSource source, int epoch) => source.GetBatches(epoch).Select(batch =>
    {
        using (batch) return batch.Features.select(1, 0).select(1, 0).data<float>().Select(v => (int)v).ToArray();
    }).ToList();

    private static int[] OrderOf(DataViewBatchSource source, int epoch) => [.. RowsOf(source, epoch).SelectMany(b => b)];

    [Fact]
    public void GetBatches_WithoutShuffleBuffer_YieldsTheLabelledRowsInOrder()
    {
        var source = Source(Numbered(10, missing: [3, 7]), batchSize: 3, bufferSize: 1);

        Assert.Equal(8, source.RowCount);
        Assert.Equal(2, source.SkippedRowCount);
        Assert.Equal(3, source.BatchesPerEpoch); // ⌈8 / 3⌉
        Assert.Equal([[0, 1, 2], [4, 5, 6], [8, 9]], RowsOf(source, epoch: 1));
        using var batch = source.GetBatches(1).First();
        Assert.Equal([0f, 1, 2], batch.Labels.data<float>().ToArray());
        Assert.Equal([2L, 2, 2], batch.Lengths.data<long>().ToArray());
        Assert.Equal([0, 1, 2], batch.RowIndices);
        Assert.Equal([0f, 0.5f, 1, 1, 1, 1], batch.Features[0].data<float>().ToArray());
    }

    [Fact]
    public void GetBatches_BufferHoldingEveryRow_GivesAPermutationThatDependsOnlyOnSeedAndEpoch()
    {
        var data = Numbered(50);
        var source = Source(data, batchSize: 8, bufferSize: 64);

        var first = OrderOf(source, epoch: 1);

        Assert.Equal(Enumerable.Range(0, 50), first.Order());
        Assert.NotEqual(Enumerable.Range(0, 50), first);
        Assert.NotEqual(first, OrderOf(source, epoch: 2));
        Assert.Equal(first, OrderOf(Source(data, batchSize: 8, bufferSize: 64), epoch: 1));
        Assert.NotEqual(first, OrderOf(Source(data, batchSize: 8, bufferSize: 64, seed: 8), epoch: 1));
        Assert.Equal(Enumerable.Range(0, 50), OrderOf(source, epoch: 0)); // evaluation passes keep the data's order
    }

    [Fact]
    public void GetBatches_SmallBuffer_NoRowComesOutMoreThanBufferMinusOnePositionsEarly()
    {
        const int Rows = 300, Buffer = 8;
        var source = Source(Numbered(Rows), batchSize: 16, bufferSize: Buffer);

        for (int epoch = 1; epoch <= 4; epoch++)
        {
            var order = OrderOf(source, epoch);
            Assert.Equal(Enumerable.Range(0, Rows), order.Order());
            // Output position p holds row i only if i ≤ p + K − 1: the K − 1 rows read ahead are all a row can overtake.
            Assert.All(Enumerable.Range(0, Rows), p => Assert.True(order[p] <= p + Buffer - 1, $"epoch {epoch}: row {order[p]} at position {p}"));
            Assert.Contains(Enumerable.Range(0, Rows), p => order[p] == p + Buffer - 1); // the bound is reached
        }
    }

    [Fact]
    public void GetBatches_RowWithNaNFeature_ThrowsNamingTheRowAndColumnWhenReached()
    {
        var rows = Enumerable.Range(0, 5).Select(n => new NumberedRow { Features = [n, 0, 0, 0, 0, 0], Label = n }).ToList();
        rows[3].Features[4] = float.NaN;
        var source = Source(Context.Data.LoadFromEnumerable(rows), batchSize: 2, bufferSize: 1);

        var exception = Assert.Throws<InvalidOperationException>(() => RowsOf(source, epoch: 1));

        Assert.Contains("Row 3 of feature column 'Features'", exception.Message);
        Assert.Contains("time step 1, feature 1", exception.Message);
    }
}
