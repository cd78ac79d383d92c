using ClipTrainer.Data;
using ClipTrainer.Modeling;
using ClipTrainer.Training;
using Microsoft.ML;
using Microsoft.ML.Data;
using Xunit;
using static ClipTrainer.Tests.SequenceTestData;

namespace ClipTrainer.Tests;

/// <summary>
/// Learning on every cell type, pooling and optimizer; seeding; the device.
/// </summary>
[Collection(TorchSharpTrainingCollection.Name)]
public class SequenceTrainerLearningTests
{
    // ---- Learning ------------------------------------------------------------------------------------------

    public static TheoryData<RecurrentCellType, SequencePooling, bool> CellsAndPoolings()
    {
        var data = new TheoryData<RecurrentCellType, SequencePooling, bool>();
        foreach (var cell in Enum.GetValues<RecurrentCellType>())
            foreach (var pooling in Enum.GetValues<SequencePooling>())
                data.Add(cell, pooling, false);
        data.Add(RecurrentCellType.Lstm, SequencePooling.LastStep, true);
        return data;
    }

    [Theory]
    [MemberData(nameof(CellsAndPoolings))]
    public void Fit_LearnableMulticlassTask_LossFallsAndAccuracyBeatsChance(RecurrentCellType cell, SequencePooling pooling, bool bidirectional)
    {
        var mlContext = new MLContext(seed: 1);
        var options = SmallOptions();
        options.CellType = cell;
        options.Pooling = pooling;
        options.Bidirectional = bidirectional;
        var test = Multiclass(200, seed: 2);
        var pipeline = mlContext.Transforms.Conversion.MapValueToKey("Label")
            .Append(mlContext.MulticlassClassification.Trainers.ClipTrainer(options));

        var model = pipeline.Fit(Load(mlContext, Multiclass(300, seed: 1)));
        var metrics = mlContext.MulticlassClassification.Evaluate(model.Transform(Load(mlContext, test)));

        var epochs = model.LastTransformer.History.Epochs;
        Assert.True(epochs[^1].TrainingLoss < 0.7 * epochs[0].TrainingLoss, $"loss {epochs[0].TrainingLoss} → {epochs[^1].TrainingLoss}");
        double majority = test.GroupBy(r => r.Label).Max(g => g.Count()) / (double)test.Count;
        Assert.True(metrics.MicroAccuracy > 0.75 && metrics.MicroAccuracy > majority + 0.3,
            $"MicroAccuracy {metrics.MicroAccuracy}, majority class {majority}");
        Assert.Equal(bidirectional ? 2 * 12 : 12, model.LastTransformer.Model.Options!.PooledSize);
        Assert.Equal(cell, model.LastTransformer.Model.Options!.CellType);
    }

    [Theory]
    [InlineData(OptimizerKind.Adam, 0.02)]
    [InlineData(OptimizerKind.AdamW, 0.02)]
    [InlineData(OptimizerKind.Sgd, 0.1)]
    [InlineData(OptimizerKind.RmsProp, 0.005)]
    public void Fit_EachOptimizer_LearnsTheRegressionTask(OptimizerKind optimizer, double learningRate)
    {
        var mlContext = new MLContext(seed: 1);
        var options = SmallOptions();
        options.Optimizer = optimizer;
        options.LearningRate = learningRate;

        var model = mlContext.Regression.Trainers.ClipTrainer(options).Fit(Load(mlContext, Regression(300, seed: 1)));
        var metrics = mlContext.Regression.Evaluate(model.Transform(Load(mlContext, Regression(200, seed: 2))));

        Assert.True(metrics.RSquared > 0.7, $"{optimizer}: RSquared {metrics.RSquared}");
        Assert.True(model.History.Epochs[^1].TrainingLoss < 0.5 * model.History.Epochs[0].TrainingLoss);
    }

    // ---- Seeds and device ----------------------------------------------------------------------------------

    [Fact]
    public void Fit_SameSeedTwice_GivesIdenticalScoresMetricsAndHistory()
    {
        var first = FitRegressionWithDropout(seed: 5);
        var second = FitRegressionWithDropout(seed: 5);

        Assert.Equal(first.Scores, second.Scores);
        Assert.Equal(first.RSquared, second.RSquared);
        Assert.Equal(first.Losses, second.Losses);
    }

    [Fact]
    public void Fit_DifferentSeeds_GiveDifferentScores()
    {
        var first = FitRegressionWithDropout(seed: 5);
        var second = FitRegressionWithDropout(seed: 6);

        Assert.Contains(first.Scores.Zip(second.Scores), p => Math.Abs(p.First - p.Second) > 1e-4);
        Assert.NotEqual(first.Losses, second.Losses);
    }

    [Fact]
    public async Task Fit_SameSeedTwiceInParallel_GivesTheScoresOfASequentialRun()
    {
        // Dropout draws from libtorch's one global generator: two runs overlapping in time would interleave their draws.
        var sequential = FitRegressionWithDropout(seed: 5);

        using var start = new Barrier(participantCount: 2); // both runs enter Fit at the same moment
        var parallel = await Task.WhenAll(
            Task.Run(() => FitRegressionWithDropout(seed: 5, () => start.SignalAndWait())),
            Task.Run(() => FitRegressionWithDropout(seed: 5, () => start.SignalAndWait())));

        Assert.All(parallel, run => Assert.Equal(sequential.Losses, run.Losses));
        Assert.All(parallel, run => Assert.Equal(sequential.Scores, run.Scores));
    }

    [Fact]
    public async Task Fit_ModelBuiltOnAnotherThreadDuringTraining_LeavesTheRunAsSequential()
    {
        // Building a model draws its default weights from the generator dropout uses: it must wait for the run to end.
        var sequential = FitRegressionWithDropout(seed: 5);
        var other = new SequenceModelOptions { InputSize = 4, HiddenSize = 64, NumberOfLayers = 3, OutputSize = 2 };
        new SequenceModel(other).Dispose(); // warm: building it takes milliseconds, far below the wait below
        Task? building = null;
        bool builtDuringTraining = false;

        var disturbed = FitRegressionWithDropout(seed: 5, afterEpoch: record =>
        {
            if (record.Epoch != 1) return;
            building = Task.Run(() => new SequenceModel(other).Dispose());
            builtDuringTraining = building.Wait(TimeSpan.FromMilliseconds(500));
        });
        await building!;

        Assert.False(builtDuringTraining, "the model was built while the run trained");
        Assert.Equal(sequential.Losses, disturbed.Losses);
        Assert.Equal(sequential.Scores, disturbed.Scores);
    }

    [Fact]
    public void Fit_CudaOnCpuOnlyBuild_ThrowsInvalidOperationExceptionAtFit()
    {
        var mlContext = new MLContext(seed: 1);
        var options = SmallOptions();
        options.Device = ComputeDevice.Cuda;
        var trainer = mlContext.Regression.Trainers.ClipTrainer(options); // accepted: the device is checked when used

        var exception = Assert.Throws<InvalidOperationException>(() => trainer.Fit(Load(mlContext, Regression(20, seed: 1))));

        Assert.Contains("Cuda", exception.Message);
        Assert.Contains("ComputeDevice.Cpu", exception.Message);
    }

    // ---- Helpers -------------------------------------------------------------------------------------------

    /// <param name="seed">The training seed.</param>
    /// <param name="beforeFit">Called just before <c>Fit</c>, after the data is made (lets parallel runs start together).</param>
    /// <param name="afterEpoch">Called on the training thread after every epoch.</param>
    private static (float[] Scores, double RSquared, double[] Losses) FitRegressionWithDropout(int seed, Action? beforeFit = null,
        Action<EpochRecord>? afterEpoch = null)
    {
        var mlContext = new MLContext(seed: 1);
        var options = SmallOptions();
        options.Seed = seed;
        options.NumberOfLayers = 2;
        options.Dropout = 0.3;
        options.MaximumNumberOfEpochs = 3;
        if (afterEpoch is not null) options.EpochProgress = new Callback<EpochRecord>(afterEpoch);
        var test = Load(mlContext, Regression(100, seed: 2));
        var trainer = mlContext.Regression.Trainers.ClipTrainer(options);
        var training = Load(mlContext, Regression(200, seed: 1));
        beforeFit?.Invoke();

        var model = trainer.Fit(training);
        var scored = model.Transform(test);

        return (Column<float>(scored, "Score").ToArray(), mlContext.Regression.Evaluate(scored).RSquared,
            model.History.Epochs.Select(e => e.TrainingLoss).ToArray());
    }

    private sealed class Callback<T>(Action<T> action) : IProgress<T>
    {
        public void Report(T value) => action(value);
    }
}
