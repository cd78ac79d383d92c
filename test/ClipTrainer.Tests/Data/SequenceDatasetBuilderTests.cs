using ClipTrainer.Data;
using Xunit;

namespace ClipTrainer.Tests.Data;

public class SequenceDatasetBuilderTests
{
    [Fact]
    public void Build_RowsFillingSeveralChunks_EveryRowKeepsItsValues()
    {
        // Rows of 5,000 values: the first chunk (16,384 values) holds 3 rows; the 4th starts a chunk of its own, never
        // straddling two; 10 rows (50,000 values) end in the third chunk (65,536 values), trimmed to its 5,000 used.
        var builder = new SequenceDatasetBuilder(inputSize: 5, SequenceTask.Regression, numberOfClasses: 0);
        for (var row = 0; row < 10; row++)
        {
            var values = Enumerable.Range(0, 5000).Select(i => row * 10_000f + i).ToArray();
            builder.AddTarget(values, row);
        }

        var dataset = builder.Build();

        Assert.Equal(10, dataset.Count);
        for (var row = 0; row < 10; row++)
        {
            var features = dataset.GetFeatures(row);
            Assert.Equal(5000, features.Length);
            Assert.Equal(row * 10_000f, features[0]);
            Assert.Equal(row * 10_000f + 4999, features[^1]);
            Assert.Equal(1000, dataset.GetSequenceLength(row));
            Assert.Equal(row, dataset.GetTarget(row));
        }
    }

    [Fact]
    public void Build_RowLongerThanTheLargestChunk_GetsAChunkOfItsOwn()
    {
        var builder = new SequenceDatasetBuilder(inputSize: 1, SequenceTask.MulticlassClassification, numberOfClasses: 2);
        var longRow = new float[SequenceDatasetBuilder.MaximumChunkValues + 3];
        longRow[^1] = 7;
        builder.AddClassIndex([1f, 2f], 0);
        builder.AddClassIndex(longRow, 1);
        builder.AddClassIndex([3f], 0);

        var dataset = builder.Build();

        Assert.Equal(new float[] { 1, 2 }, dataset.GetFeatures(0).ToArray());
        Assert.Equal(SequenceDatasetBuilder.MaximumChunkValues + 3, dataset.GetFeatures(1).Length);
        Assert.Equal(7f, dataset.GetFeatures(1)[^1]);
        Assert.Equal(new float[] { 3 }, dataset.GetFeatures(2).ToArray());
        Assert.Equal(1L, dataset.GetClassIndex(1));
    }
}
