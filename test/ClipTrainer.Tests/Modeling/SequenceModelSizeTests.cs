using System.Diagnostics;
using ClipTrainer.Modeling;
using Microsoft.ML;
using Xunit;
using static ClipTrainer.Tests.SequenceTestData;

namespace ClipTrainer.Tests.Modeling;

/// <summary>Sizes that cannot fit are refused fast, before anything is allocated, naming the options and the estimate.</summary>
[Collection(TorchSharpTrainingCollection.Name)]
public class SequenceModelSizeTests
{
    [Theory]
    // LSTM 3 → 12, 2 layers, 3 outputs: 4·12·(3+12+2) + 4·12·(12+12+2) + (12+1)·3 = 816 + 1248 + 39.
    [InlineData(RecurrentCellType.Lstm, 3, 12, 2, false, 3, 2103)]
    // Bidirectional GRU 2 → 5, 2 layers, 1 output: 2·3·5·(2+5+2) + 2·3·5·(10+5+2) + (10+1)·1 = 270 + 510 + 11.
    [InlineData(RecurrentCellType.Gru, 2, 5, 2, true, 1, 791)]
    // RNN 4 → 6, 1 layer, 2 outputs: 6·(4+6+2) + (6+1)·2 = 72 + 14.
    [InlineData(RecurrentCellType.Rnn, 4, 6, 1, false, 2, 86)]
    public void ParameterCount_MatchesHandCountAndTheBuiltModel(RecurrentCellType cell, int input, int hidden, int layers, bool bidirectional, int output, long expected)
    {
        var options = new SequenceModelOptions
        {
            CellType = cell, InputSize = input, HiddenSize = hidden, NumberOfLayers = layers, Bidirectional = bidirectional, OutputSize = output,
        };
        Assert.Equal(expected, SequenceModelSize.ParameterCount(options));
        using var model = SequenceModel.Create(options, seed: 1);
        Assert.Equal(expected, model.parameters().Sum(p => p.numel()));
    }

    [Fact]
    public void Fit_HiddenSize100000_FailsFastNamingTheOptionAndTheEstimate()
    {
        var mlContext = new MLContext(seed: 1);
        var options = SmallOptions(maximumNumberOfEpochs: 1);
        options.CellType = RecurrentCellType.Lstm;
        options.HiddenSize = 100000;
        var data = mlContext.Transforms.Conversion.MapValueToKey("Label").Fit(Load(mlContext, Multiclass(10, seed: 1))).Transform(Load(mlContext, Multiclass(10, seed: 1)));
        var watch = Stopwatch.StartNew();

        var exception = Assert.Throws<ArgumentOutOfRangeException>(() => mlContext.MulticlassClassification.Trainers.ClipTrainer(options).Fit(data));

        Assert.True(watch.Elapsed < TimeSpan.FromSeconds(1), $"took {watch.Elapsed}");
        Assert.Equal("HiddenSize", exception.ParamName);
        // 4·1e5·(3+1e5+2) + (1e5+1)·3 = 40,002,300,003 parameters × 4 copies × 4 bytes ≈ 596 GiB, plus the activations.
        Assert.Contains("40,002,300,003 parameters × 4 copies", exception.Message);
        Assert.Contains("HiddenSize 100000", exception.Message);
        Assert.Contains("Lower HiddenSize", exception.Message);
    }

    [Fact]
    public void Constructor_HiddenSize100000_FailsFastBeforeLibTorchAllocates()
    {
        var watch = Stopwatch.StartNew();
        var exception = Assert.Throws<ArgumentOutOfRangeException>(() => new SequenceModel(new SequenceModelOptions
        {
            CellType = RecurrentCellType.Lstm, InputSize = 3, HiddenSize = 100000, OutputSize = 3,
        }));
        Assert.True(watch.Elapsed < TimeSpan.FromSeconds(1), $"took {watch.Elapsed}");
        Assert.Equal("HiddenSize", exception.ParamName);
        Assert.Contains("building it needs about 149.0 GiB (40,002,300,003 parameters × 1 copy)", exception.Message);
    }

    [Fact]
    public void ClipTrainer_NumberOfLayers100000_FailsFastNamingTheOptionAndTheLimit()
    {
        var options = SmallOptions();
        options.NumberOfLayers = 100000;
        var watch = Stopwatch.StartNew();
        var exception = Assert.Throws<ArgumentOutOfRangeException>(() => new MLContext().Regression.Trainers.ClipTrainer(options));
        Assert.True(watch.Elapsed < TimeSpan.FromSeconds(1), $"took {watch.Elapsed}");
        Assert.Equal("NumberOfLayers", exception.ParamName);
        Assert.Contains("NumberOfLayers must be at most 1000", exception.Message);
        Assert.Contains("got 100000", exception.Message);
    }
}
