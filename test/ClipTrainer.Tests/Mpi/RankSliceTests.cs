using ClipTrainer.Data;
using ClipTrainer.Mpi;
using Xunit;
using static TorchSharp.torch;

namespace ClipTrainer.Tests.Mpi;

public sealed class RankSliceTests
{
    [Theory]
    [InlineData(0, new[] { 0, 1, 2 })] // ⌊0·7/2⌋ = 0 to ⌊1·7/2⌋ = 3
    [InlineData(1, new[] { 3, 4, 5, 6 })] // 3 to 7
    public void GetBatches_YieldsTheRanksContiguousShare(int rank, int[] rows)
    {
        using var scope = NewDisposeScope();
        var slice = new RankSlice(new Rows(7), rank, 2);

        using var batch = slice.GetBatches(1).Single();

        Assert.Equal(rows, batch.RowIndices);
        Assert.Equal(rows.Select(r => (float)r).ToArray(), batch.Features.reshape(-1).data<float>().ToArray());
        Assert.Equal(rows.Select(r => (long)r).ToArray(), batch.Labels.data<long>().ToArray());
        Assert.Null(slice.CurrentPlaceholder);
    }

    [Fact]
    public void GetBatches_EmptyShare_YieldsOneRowMarkedAsPlaceholder()
    {
        // 2 rows over 3 ranks: rank 0 gets ⌊0⌋..⌊2/3⌋ = nothing, so it takes row 0 and weighs it 0.
        using var scope = NewDisposeScope();
        var slice = new RankSlice(new Rows(2), 0, 3);

        using var batch = slice.GetBatches(1).Single();

        Assert.Equal([0], batch.RowIndices);
        Assert.Same(batch, slice.CurrentPlaceholder);
    }

    /// <summary>One batch of rows whose feature and label are the row's index.</summary>
    private sealed class Rows(int count) : ISequenceBatchSource
    {
        public int? BatchesPerEpoch => 1;

        public IEnumerable<SequenceBatch> GetBatches(int epoch)
        {
            var indices = Enumerable.Range(0, count).ToArray();
            yield return new SequenceBatch(tensor(indices.Select(i => (float)i).ToArray()).reshape(count, 1, 1),
                ones(count, ScalarType.Int64), tensor(indices.Select(i => (long)i).ToArray()));
        }
    }
}
