using Microsoft.ML;
using Xunit;
using static ClipTrainer.Tests.SequenceTestData;

namespace ClipTrainer.Tests;

/// <summary>Training from an IDataView read by cursor (<see cref="SequenceTrainerOptions.StreamingShuffleBufferSize"/>).</summary>
[Collection(TorchSharpTrainingCollection.Name)]
public sealed class SequenceTrainerStreamingTests : IDisposable
{
    private readonly string _directory = Directory.CreateTempSubdirectory("cliptrainer-streaming-tests-").FullName;

    public void Dispose() => Directory.Delete(_directory, recursive: true);

    private static SequenceTrainerOptions Options(int? bufferSize, bool shuffle = true)
    {
        var options = SmallOptions(maximumNumberOfEpochs: 2);
        options.NumberOfThreads = 1;
        options.Shuffle = shuffle;
        options.StreamingShuffleBufferSize = bufferSize;
        return options;
    }

    [Fact]
    public void Fit_StreamingInDataOrder_TrainsExactlyAsInMemory()
    {
        var mlContext = new MLContext(seed: 1);
        var train = Load(mlContext, Regression(100, seed: 1));
        var options = Options(bufferSize: null, shuffle: false);
        options.ValidationSet = Load(mlContext, Regression(40, seed: 2));
        var streamingOptions = Options(bufferSize: 16, shuffle: false);
        streamingOptions.ValidationSet = options.ValidationSet;

        var inMemory = mlContext.Regression.Trainers.ClipTrainer(options).Fit(train);
        var streaming = mlContext.Regression.Trainers.ClipTrainer(streamingOptions).Fit(train);

        // The same batches in the same order give the same run, step for step (the one-cycle schedule included).
        Assert.Equal(inMemory.History.Steps.Select(s => s.Loss), streaming.History.Steps.Select(s => s.Loss));
        Assert.Equal(inMemory.History.Epochs.Select(e => e.ValidationLoss), streaming.History.Epochs.Select(e => e.ValidationLoss));
        Assert.Equal(Column<float>(inMemory.Transform(train), "Score"), Column<float>(streaming.Transform(train), "Score"));
    }

    [Fact]
    public void Fit_StreamingFromBinaryFile_CountsTheRowsForTheScheduleAndRepeatsWithTheSeed()
    {
        var mlContext = new MLContext(seed: 1);
        string path = Path.Combine(_directory, "train.idv");
        using (var file = File.Create(path)) mlContext.Data.SaveAsBinary(Load(mlContext, Regression(100, seed: 1)), file);
        var train = mlContext.Data.LoadFromBinary(path);

        var first = mlContext.Regression.Trainers.ClipTrainer(Options(bufferSize: 20)).Fit(train);
        var second = mlContext.Regression.Trainers.ClipTrainer(Options(bufferSize: 20)).Fit(train);
        var inMemory = mlContext.Regression.Trainers.ClipTrainer(Options(bufferSize: null)).Fit(train);

        Assert.Equal(2 * 4, first.History.Steps.Count); // ⌈100 / 32⌉ = 4 batches per epoch
        Assert.Equal(first.History.Steps.Select(s => s.Loss), second.History.Steps.Select(s => s.Loss));
        // The known epoch length lets the one-cycle schedule run as in memory: the same learning rate at every step.
        Assert.Equal(inMemory.History.Steps.Select(s => s.LearningRate), first.History.Steps.Select(s => s.LearningRate));
        Assert.NotEqual(inMemory.History.Steps.Select(s => s.Loss), first.History.Steps.Select(s => s.Loss)); // another shuffle
    }

    [Fact]
    public void Fit_StreamingDataWithoutLabels_ThrowsAsInMemory()
    {
        var mlContext = new MLContext(seed: 1);
        var rows = Regression(5, seed: 1);
        rows.ForEach(r => r.Label = float.NaN);
        var trainer = mlContext.Regression.Trainers.ClipTrainer(Options(bufferSize: 4));

        var exception = Assert.Throws<ArgumentException>(() => trainer.Fit(Load(mlContext, rows)));

        Assert.Contains("all 5 rows have a missing value in label column 'Label'", exception.Message);
    }

    [Theory]
    [InlineData(0)]
    [InlineData(-1)]
    public void Constructor_StreamingShuffleBufferSizeNotPositive_ThrowsNamingIt(int size)
    {
        var exception = Assert.Throws<ArgumentOutOfRangeException>(() => new MLContext().Regression.Trainers.ClipTrainer(Options(size)));

        Assert.Equal(nameof(SequenceTrainerOptions.StreamingShuffleBufferSize), exception.ParamName);
        Assert.Contains($"got {size}", exception.Message);
    }
}
