using ClipTrainer.Data;
using TorchSharp;
using Xunit;
using static TorchSharp.torch;

namespace ClipTrainer.Tests.Data;

public class SequenceBatcherTests
{
    private const int InputSize = 2;

    // Row r has r % 3 + 1 steps; value at (step t, feature i) is 100 r + 10 t + i + 1, so a misplaced value is visible.
    private static SequenceDataset CreateDataset(int count) => SequenceDataset.CreateMulticlass(
        InputSize,
        numberOfClasses: 5,
        Enumerable.Range(0, count)
            .Select(row => Enumerable.Range(0, (row % 3 + 1) * InputSize).Select(k => 100f * row + 10 * (k / InputSize) + k % InputSize + 1).ToArray())
            .ToList(),
        Enumerable.Range(0, count).Select(row => (long)(row % 5)).ToList());

    [Fact]
    public void CreateBatch_VariableLengths_ValuesLandAtBatchStepFeatureWithZeroPadding()
    {
        using var scope = NewDisposeScope();
        var batcher = new SequenceBatcher(CreateDataset(6), batchSize: 4, shuffle: false, seed: 0);

        using var batch = batcher.CreateBatch([4, 0, 2]);

        Assert.Equal(new long[] { 3, 3, InputSize }, batch.Features.shape);
        Assert.Equal(ScalarType.Float32, batch.Features.dtype);
        Assert.Equal(new long[] { 2, 1, 3 }, batch.Lengths.data<long>().ToArray());
        Assert.Equal(ScalarType.Int64, batch.Lengths.dtype);
        Assert.Equal(new long[] { 4, 0, 2 }, batch.Labels.data<long>().ToArray());
        Assert.Equal(new[] { 4, 0, 2 }, batch.RowIndices);
        var features = batch.Features;
        Assert.Equal(401f, features[0, 0, 0].item<float>());
        Assert.Equal(412f, features[0, 1, 1].item<float>());
        Assert.Equal(0f, features[0, 2, 0].item<float>());
        Assert.Equal(2f, features[1, 0, 1].item<float>());
        Assert.Equal(0f, features[1, 1].abs().sum().item<float>() + features[1, 2].abs().sum().item<float>());
        Assert.Equal(222f, features[2, 2, 1].item<float>());
    }

    [Fact]
    public void CreateBatch_RowsOfOneLength_IsFullLengthSoTheModelGetsNoLengths()
    {
        using var scope = NewDisposeScope();
        var batcher = new SequenceBatcher(CreateDataset(6), batchSize: 4, shuffle: false, seed: 0);

        using var equal = batcher.CreateBatch([1, 4]);    // 2 steps each
        using var unequal = batcher.CreateBatch([1, 2]);  // 2 and 3 steps

        Assert.True(equal.IsFullLength);
        Assert.Null(equal.ModelLengths);
        Assert.Equal(new long[] { 2, 2 }, equal.Lengths.data<long>().ToArray()); // the public lengths stay
        Assert.False(unequal.IsFullLength);
        Assert.Same(unequal.Lengths, unequal.ModelLengths);
    }

    [Fact]
    public void Constructor_BatchOfYourOwn_PassesItsLengthsToTheModel()
    {
        using var scope = NewDisposeScope();
        using var batch = new SequenceBatch(zeros(2, 3, 1), tensor(new long[] { 3, 3 }), tensor(new long[] { 0, 1 }));

        Assert.Same(batch.Lengths, batch.ModelLengths); // the loop cannot know its lengths without reading them
    }

    [Fact]
    public void CreateBatch_RegressionDataset_LabelsAreFloat32Targets()
    {
        var dataset = SequenceDataset.CreateRegression(1, [[1], [2, 3]], [0.5f, -1.5f]);
        var batcher = new SequenceBatcher(dataset, batchSize: 2, shuffle: false, seed: 0);

        using var batch = batcher.CreateBatch([1, 0]);

        Assert.Equal(ScalarType.Float32, batch.Labels.dtype);
        Assert.Equal(new[] { -1.5f, 0.5f }, batch.Labels.data<float>().ToArray());
    }

    [Fact]
    public void GetBatches_NoShuffle_DatasetOrderWithSmallerLastBatch()
    {
        var batcher = new SequenceBatcher(CreateDataset(10), batchSize: 4, shuffle: false, seed: 0);

        var rows = new List<int[]>();
        foreach (var batch in batcher.GetBatches(epoch: 3))
        {
            using (batch)
            {
                rows.Add(batch.RowIndices.ToArray());
            }
        }

        Assert.Equal(3, batcher.NumberOfBatches);
        Assert.Equal(new[] { new[] { 0, 1, 2, 3 }, new[] { 4, 5, 6, 7 }, new[] { 8, 9 } }, rows);
    }

    [Fact]
    public void GetBatches_Shuffled_VisitsEveryRowOnceAndPadsEachBatchToItsLongestRow()
    {
        var batcher = new SequenceBatcher(CreateDataset(11), batchSize: 3, shuffle: true, seed: 5);
        var seen = new List<int>();

        foreach (var batch in batcher.GetBatches(epoch: 0))
        {
            using (batch)
            {
                seen.AddRange(batch.RowIndices);
                var longest = batch.RowIndices.Max(row => row % 3 + 1);
                Assert.Equal(longest, batch.Features.shape[1]);
            }
        }

        Assert.Equal(Enumerable.Range(0, 11), seen.Order());
    }

    [Fact]
    public void GetRowOrder_SameSeedAndEpoch_IsIdenticalAcrossBatchers()
    {
        var first = new SequenceBatcher(CreateDataset(50), batchSize: 8, shuffle: true, seed: 42);
        var second = new SequenceBatcher(CreateDataset(50), batchSize: 8, shuffle: true, seed: 42);

        // Asking for a later epoch first must not change what an earlier epoch returns.
        _ = second.GetRowOrder(7);

        Assert.Equal(first.GetRowOrder(0), second.GetRowOrder(0));
        Assert.Equal(first.GetRowOrder(7), second.GetRowOrder(7));
        Assert.NotEqual(Enumerable.Range(0, 50), first.GetRowOrder(0));
    }

    [Fact]
    public void GetRowOrder_DifferentEpochOrSeed_GivesDifferentPermutation()
    {
        var batcher = new SequenceBatcher(CreateDataset(50), batchSize: 8, shuffle: true, seed: 42);
        var otherSeed = new SequenceBatcher(CreateDataset(50), batchSize: 8, shuffle: true, seed: 43);

        Assert.NotEqual(batcher.GetRowOrder(0), batcher.GetRowOrder(1));
        Assert.NotEqual(batcher.GetRowOrder(0), otherSeed.GetRowOrder(0));
        Assert.Equal(Enumerable.Range(0, 50), batcher.GetRowOrder(1).Order());
    }

    [Theory]
    [InlineData(8, 1, 2)]
    [InlineData(50, 42, 0)]
    [InlineData(50, -7, 13)]
    [InlineData(2, 3, 1)]
    [InlineData(1, 5, 4)]
    public void GetRowOrder_Shuffled_IsFisherYatesDrivenBySplitMix64(int count, int seed, int epoch)
    {
        // The documented algorithm, written here from its definition: SplitMix64 (checked against published values
        // below) seeded with (seed << 32) ^ epoch ^ γ, then Fisher–Yates from the last position down, j = next mod (i + 1).
        var batcher = new SequenceBatcher(CreateDataset(count), batchSize: 8, shuffle: true, seed: seed);
        var state = ((ulong)(uint)seed << 32) ^ (uint)epoch ^ SplitMix64Gamma;
        var expected = Enumerable.Range(0, count).ToArray();
        for (int i = count - 1; i > 0; i--)
        {
            int j = (int)(SplitMix64(ref state) % (ulong)(i + 1));
            (expected[i], expected[j]) = (expected[j], expected[i]);
        }

        Assert.Equal(expected, batcher.GetRowOrder(epoch));
    }

    [Theory]
    [InlineData(0ul, new[] { 0xE220A8397B1DCDAFul, 0x6E789E6AA1B965F4ul, 0x06C45D188009454Ful })]
    [InlineData(1234567ul, new[] { 6457827717110365317ul, 3203168211198807973ul, 9817491932198370423ul })]
    public void SplitMix64_OfThisTest_MatchesThePublishedReferenceOutputs(ulong seed, ulong[] outputs)
    {
        // Vigna's splitmix64.c: the first outputs for seeds 0 and 1234567.
        var state = seed;

        Assert.Equal(outputs, outputs.Select(_ => SplitMix64(ref state)));
    }

    [Fact]
    public void Dispose_BatchInsideDisposeScope_ReleasesTensorsAndScopeDisposeIsSafe()
    {
        var batcher = new SequenceBatcher(CreateDataset(3), batchSize: 3, shuffle: false, seed: 0);
        SequenceBatch batch;
        var scope = NewDisposeScope();
        batch = batcher.CreateBatch([0, 1, 2]);

        batch.Dispose();
        scope.Dispose();

        Assert.True(batch.Features.IsInvalid);
        Assert.True(batch.Lengths.IsInvalid);
        Assert.True(batch.Labels.IsInvalid);
    }

    [Fact]
    public void CreateBatch_InsideDisposeScope_ScopeReleasesTensors()
    {
        var batcher = new SequenceBatcher(CreateDataset(3), batchSize: 3, shuffle: false, seed: 0);
        SequenceBatch batch;
        using (NewDisposeScope())
        {
            batch = batcher.CreateBatch([0, 1]);
        }

        Assert.True(batch.Features.IsInvalid);
    }

    [Theory]
    [InlineData(0)]
    [InlineData(-4)]
    public void Constructor_NonPositiveBatchSize_ThrowsNamingBatchSize(int batchSize)
    {
        var exception = Assert.Throws<ArgumentOutOfRangeException>(() => new SequenceBatcher(CreateDataset(2), batchSize, shuffle: false, seed: 0));

        Assert.Equal("batchSize", exception.ParamName);
        Assert.Contains($"got {batchSize}", exception.Message);
    }

    [Fact]
    public void CreateBatch_NoRows_ThrowsArgumentException()
    {
        var batcher = new SequenceBatcher(CreateDataset(2), batchSize: 2, shuffle: false, seed: 0);

        Assert.Throws<ArgumentException>(() => batcher.CreateBatch([]));
    }

    private const ulong SplitMix64Gamma = 0x9E3779B97F4A7C15UL;

    private static ulong SplitMix64(ref ulong state)
    {
        unchecked
        {
            state += SplitMix64Gamma;
            ulong z = state;
            z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9UL;
            z = (z ^ (z >> 27)) * 0x94D049BB133111EBUL;
            return z ^ (z >> 31);
        }
    }
}
