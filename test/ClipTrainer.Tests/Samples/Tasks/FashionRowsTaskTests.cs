using System.IO.Compression;
using ClipTrainer.Samples;
using ClipTrainer.Samples.Tasks;
using Microsoft.ML;
using Microsoft.ML.Data;
using Xunit;

namespace ClipTrainer.Tests.Samples.Tasks;

/// <summary>The Fashion-MNIST rows task on tiny IDX files in the package's layout, written by the test.</summary>
public sealed class FashionRowsTaskTests : IDisposable
{
    private const int Pixels = FashionRowsTask.Side * FashionRowsTask.Side;
    private readonly string _directory = Directory.CreateTempSubdirectory("fashion-tests-").FullName;

    public void Dispose() => Directory.Delete(_directory, recursive: true);

    [Fact]
    public void Compare_KeepsItsShortRecipe_WhenTheSampleRecipeChanges()
    {
        // The README's compare table was measured with the sample's model under AdamW 3e-3, batch 128, 2 epochs and the
        // one-cycle schedule at its defaults (warm-up 10 %, from 10 % of the rate up, then down to 90 % of it).
        var sample = new FashionRowsTask().CreateOptions();
        var compare = ComparisonTasks.Named(FashionRowsTask.Name).BaseOptions(new TaskDataRequest(FashionRowsTask.Side, Seed: 1));

        Assert.Equal((ClipTrainer.Modeling.RecurrentCellType.Gru, 128, ClipTrainer.Modeling.SequencePooling.Max, 0.25, 0.01),
            (compare.CellType, compare.HiddenSize, compare.Pooling, compare.Dropout, compare.WeightDecay));
        Assert.Equal((sample.CellType, sample.HiddenSize, sample.Pooling, sample.Dropout, sample.WeightDecay),
            (compare.CellType, compare.HiddenSize, compare.Pooling, compare.Dropout, compare.WeightDecay));
        Assert.Equal((ClipTrainer.Training.LearningRateSchedule.OneCycle, 0.1, 0.1, 0.9), (compare.Schedule, compare.WarmupFraction, compare.StartLearningRateRatio, compare.FinalLearningRateRatio));
        Assert.Equal((ClipTrainer.Training.OptimizerKind.AdamW, 3e-3, 128, 2), (compare.Optimizer, compare.LearningRate, compare.BatchSize, compare.MaximumNumberOfEpochs));
        // The sample's own run decays the rate to 1 % instead.
        Assert.Equal((ClipTrainer.Training.LearningRateSchedule.Cosine, 0.01), (sample.Schedule, sample.FinalLearningRateRatio));
    }

    [Fact]
    public void LoadData_Throws_NamingTheMissingFilesAndTheInstallCommand()
    {
        var task = new FashionRowsTask(_directory);

        var exception = Assert.Throws<SampleDataMissingException>(() => task.LoadData(new MLContext(seed: 0)));

        Assert.Contains(Path.Combine(_directory, "train-images-idx3-ubyte.gz"), exception.Message);
        Assert.Contains(Path.Combine(_directory, "t10k-labels-idx1-ubyte.gz"), exception.Message);
        Assert.Contains("apt-get install -y dataset-fashion-mnist", exception.Message);
    }

    [Fact]
    public void LoadData_StandardizesWithTheTrainingPixels_AndKeysTheLabels()
    {
        // Training images all black (0) and all white (255): pixel mean 0.5, deviation 0.5, so they become −1 and +1;
        // the test image, all 51 (0.2), becomes (0.2 − 0.5) / 0.5 = −0.6.
        WriteImages("train", [0, 255], [3, 9]);
        WriteImages("t10k", [51], [0]);
        var mlContext = new MLContext(seed: 0);

        var (train, test) = new FashionRowsTask(_directory).LoadData(mlContext);

        var trainFeatures = train.GetColumn<VBuffer<float>>("Features").Select(v => v.DenseValues().ToArray()).ToList();
        Assert.All(trainFeatures[0], v => Assert.Equal(-1f, v, 1e-5f));
        Assert.All(trainFeatures[1], v => Assert.Equal(1f, v, 1e-5f));
        Assert.All(test.GetColumn<VBuffer<float>>("Features").Single().DenseValues(), v => Assert.Equal(-0.6f, v, 1e-5f));
        Assert.Equal([4u, 10u], train.GetColumn<uint>("Label"));   // key values: class index + 1
        Assert.Equal(10ul, Assert.IsType<KeyDataViewType>(train.Schema["Label"].Type).Count);
        Assert.Equal(Pixels, Assert.IsType<VectorDataViewType>(train.Schema["Features"].Type).Size);
    }

    [Fact]
    public void LoadData_TakesASeededSubset_InFileOrder()
    {
        WriteImages("train", [10, 20, 30, 40, 50, 60], [0, 1, 2, 3, 4, 5]);
        WriteImages("t10k", [7], [0]);
        var task = new FashionRowsTask(_directory);

        var labels = task.LoadData(new MLContext(seed: 0), trainRows: 3, seed: 5).Train.GetColumn<uint>("Label").ToList();
        var again = task.LoadData(new MLContext(seed: 0), trainRows: 3, seed: 5).Train.GetColumn<uint>("Label").ToList();

        Assert.Equal(3, labels.Count);
        Assert.Equal(labels, again);
        Assert.Equal(labels.Order(), labels);
        Assert.Equal(3, labels.Distinct().Count());
    }

    [Fact]
    public void LoadData_Throws_WhenLabelsAndImagesDoNotPairUp()
    {
        WriteImages("train", [0, 255], [3]);
        WriteImages("t10k", [51], [0]);

        var exception = Assert.Throws<InvalidDataException>(() => new FashionRowsTask(_directory).LoadData(new MLContext(seed: 0)));

        Assert.Contains("train-labels-idx1-ubyte.gz", exception.Message);
        Assert.Contains("holds dimensions [1], expected [2]", exception.Message);
    }

    [Fact]
    public void LoadData_Throws_ForALabelOutsideTheTenClasses()
    {
        WriteImages("train", [0, 255], [3, 10]);
        WriteImages("t10k", [51], [0]);

        var exception = Assert.Throws<InvalidDataException>(() => new FashionRowsTask(_directory).LoadData(new MLContext(seed: 0)));

        Assert.Contains("holds the label 10, expected 0 to 9", exception.Message);
    }

    // Images of one grey value each, and their labels, as <prefix>-images-idx3-ubyte.gz and <prefix>-labels-idx1-ubyte.gz.
    private void WriteImages(string prefix, byte[] greys, byte[] labels)
    {
        byte[] imageHeader = [0, 0, 8, 3, .. BigEndian(greys.Length), .. BigEndian(28), .. BigEndian(28)];
        WriteGzip($"{prefix}-images-idx3-ubyte.gz", [.. imageHeader, .. greys.SelectMany(g => Enumerable.Repeat(g, Pixels))]);
        WriteGzip($"{prefix}-labels-idx1-ubyte.gz", [0, 0, 8, 1, .. BigEndian(labels.Length), .. labels]);
    }

    private static byte[] BigEndian(int value) => [(byte)(value >> 24), (byte)(value >> 16), (byte)(value >> 8), (byte)value];

    private void WriteGzip(string name, byte[] content)
    {
        using var gzip = new GZipStream(File.Create(Path.Combine(_directory, name)), CompressionLevel.Fastest);
        gzip.Write(content);
    }
}
