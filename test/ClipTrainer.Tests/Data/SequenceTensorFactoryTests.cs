using ClipTrainer.Data;
using ClipTrainer.Modeling;
using Microsoft.ML.Data;
using TorchSharp;
using Xunit;
using static TorchSharp.torch;

namespace ClipTrainer.Tests.Data;

public class SequenceTensorFactoryTests
{
    [Fact]
    public void Create_BlockOfRows_PadsToLongestRowWithLengths()
    {
        using var scope = NewDisposeScope();
        var rows = new[] { new VBuffer<float>(2, [1f, 2f]), new VBuffer<float>(6, [3f, 4f, 5f, 6f, 7f, 8f]) };

        var tensors = SequenceTensorFactory.Create(rows, inputSize: 2);

        Assert.Equal(new long[] { 2, 3, 2 }, tensors.Features.shape);
        Assert.Equal(new long[] { 1, 3 }, tensors.Lengths!.data<long>().ToArray());
        Assert.Equal(new float[] { 1, 2, 0, 0, 0, 0, 3, 4, 5, 6, 7, 8 }, tensors.Features.data<float>().ToArray());
    }

    [Fact]
    public void Create_SparseRow_IsDensifiedTimeMajor()
    {
        using var scope = NewDisposeScope();
        var row = new VBuffer<float>(4, 1, [9f], [3]);

        var tensors = SequenceTensorFactory.Create(row, inputSize: 2);

        Assert.Equal(new long[] { 1, 2, 2 }, tensors.Features.shape);
        Assert.Equal(new float[] { 0, 0, 0, 9 }, tensors.Features.data<float>().ToArray());
        Assert.Null(tensors.Lengths); // one row is as long as the longest: no lengths, as for a full-length training batch
    }

    [Fact]
    public void Create_RowsOfEqualLength_GivesNoLengths()
    {
        using var scope = NewDisposeScope();
        var rows = new[] { new VBuffer<float>(4, [1f, 2f, 3f, 4f]), new VBuffer<float>(4, [5f, 6f, 7f, 8f]) };

        var tensors = SequenceTensorFactory.Create(rows, inputSize: 2);

        Assert.Equal(new long[] { 2, 2, 2 }, tensors.Features.shape);
        Assert.Null(tensors.Lengths);
    }

    [Theory]
    [InlineData(3)]
    [InlineData(0)]
    public void Create_RowNotPositiveMultipleOfInputSize_ThrowsNamingRowAndLength(int badLength)
    {
        var rows = new[] { new VBuffer<float>(2, [1f, 2f]), new VBuffer<float>(badLength, new float[badLength]) };

        var exception = Assert.Throws<ArgumentException>(() => SequenceTensorFactory.Create(rows, inputSize: 2));

        Assert.Equal("rows", exception.ParamName);
        Assert.Contains($"Row 1 of the block holds {badLength} values", exception.Message);
    }

    [Fact]
    public void Create_BlockScoredByModel_MatchesEachRowScoredAlone()
    {
        using var scope = NewDisposeScope();
        using var model = SequenceModel.Create(
            new SequenceModelOptions { CellType = RecurrentCellType.Gru, InputSize = 2, HiddenSize = 4, OutputSize = 3, Bidirectional = true },
            seed: 3);
        model.eval();
        var random = new Random(9);
        var rows = new[] { 3, 1, 5 }
            .Select(steps => new VBuffer<float>(steps * 2, Enumerable.Range(0, steps * 2).Select(_ => (float)random.NextDouble()).ToArray()))
            .ToArray();

        var block = SequenceTensorFactory.Create(rows, inputSize: 2);
        var blockScores = model.forward(block.Features, block.Lengths);

        for (var row = 0; row < rows.Length; row++)
        {
            var single = SequenceTensorFactory.Create(rows[row], inputSize: 2);
            var alone = model.forward(single.Features, single.Lengths);
            var difference = (alone[0] - blockScores[row]).abs().max().item<float>();
            Assert.True(difference <= 1e-6, $"Row {row} differs by {difference}.");
        }
    }
}
