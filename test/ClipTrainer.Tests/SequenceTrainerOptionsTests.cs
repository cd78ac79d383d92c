using ClipTrainer.Data;
using ClipTrainer.Modeling;
using ClipTrainer.Training;
using Microsoft.ML;
using Microsoft.ML.Data;
using Xunit;
using static ClipTrainer.Tests.SequenceTestData;

namespace ClipTrainer.Tests;

/// <summary>
/// Each training option reaching training: epochs, batch size, schedules, regularization, progress callbacks.
/// </summary>
[Collection(TorchSharpTrainingCollection.Name)]
public class SequenceTrainerOptionsTests
{
    [Theory]
    [InlineData(1)]
    [InlineData(4)]
    public void Fit_MaxEpoch_IsTheNumberOfHistoryRecords(int maximumNumberOfEpochs)
    {
        var mlContext = new MLContext(seed: 1);
        var options = SmallOptions();
        options.MaximumNumberOfEpochs = maximumNumberOfEpochs;

        var model = mlContext.Regression.Trainers.ClipTrainer(options).Fit(Load(mlContext, Regression(50, seed: 1)));

        Assert.Equal(Enumerable.Range(1, maximumNumberOfEpochs), model.History.Epochs.Select(e => e.Epoch));
        Assert.Equal(maximumNumberOfEpochs, model.History.BestEpoch);
        Assert.False(model.History.StoppedEarly);
    }

    [Theory]
    [InlineData(32, 4)]
    [InlineData(7, 15)]
    [InlineData(100, 1)]
    [InlineData(500, 1)]
    [InlineData(1, 100)]
    public void Fit_BatchSize_GivesCeilingOfRowsOverBatchSizeStepsPerEpoch(int batchSize, int expectedSteps)
    {
        var mlContext = new MLContext(seed: 1);
        var options = SmallOptions();
        options.MaximumNumberOfEpochs = 2;
        options.BatchSize = batchSize;

        var model = mlContext.Regression.Trainers.ClipTrainer(options).Fit(Load(mlContext, Regression(100, seed: 1)));

        Assert.All(model.History.Epochs, e => Assert.Equal(expectedSteps, e.Steps));
    }

    [Theory]
    [InlineData(LearningRateSchedule.OneCycle)]
    [InlineData(LearningRateSchedule.Cosine)]
    public void Fit_ScheduledLearningRate_LastEpochEndsAtFinalRatio(LearningRateSchedule schedule)
    {
        var mlContext = new MLContext(seed: 1);
        var options = SmallOptions();
        options.Schedule = schedule;
        options.LearningRate = 0.02;
        options.FinalLearningRateRatio = 0.25;
        options.MaximumNumberOfEpochs = 3;

        var model = mlContext.Regression.Trainers.ClipTrainer(options).Fit(Load(mlContext, Regression(100, seed: 1)));

        Assert.Equal(0.005, model.History.Epochs[^1].LearningRate, 1e-9);
        Assert.NotEqual(0.005, model.History.Epochs[0].LearningRate, 1e-6);
    }

    [Fact]
    public void Fit_OneCycleWarmUpOverAllSteps_RisesLinearlyFromStartRatio()
    {
        // One step per epoch, four steps, warm-up over all of them: step s has rate 0.01 × (0.2 + 0.8 × s / 4).
        var mlContext = new MLContext(seed: 1);
        var options = SmallOptions();
        options.Schedule = LearningRateSchedule.OneCycle;
        options.LearningRate = 0.01;
        options.StartLearningRateRatio = 0.2;
        options.WarmupFraction = 1;
        options.BatchSize = 50;
        options.MaximumNumberOfEpochs = 4;

        var model = mlContext.Regression.Trainers.ClipTrainer(options).Fit(Load(mlContext, Regression(50, seed: 1)));

        Assert.Equal([0.002, 0.004, 0.006, 0.008], model.History.Epochs.Select(e => e.LearningRate), new DoubleTolerance(1e-12));
    }

    [Fact]
    public void Fit_ConstantSchedule_EveryEpochUsesTheBaseLearningRate()
    {
        var mlContext = new MLContext(seed: 1);
        var options = SmallOptions();
        options.LearningRate = 0.0123;
        options.MaximumNumberOfEpochs = 2;
        options.Schedule = LearningRateSchedule.Constant;

        var model = mlContext.Regression.Trainers.ClipTrainer(options).Fit(Load(mlContext, Regression(50, seed: 1)));

        Assert.All(model.History.Epochs, e => Assert.Equal(0.0123, e.LearningRate));
    }

    [Fact]
    public void Fit_DefaultSchedule_EndsAtLearningRateTimesFinalLearningRateRatio()
    {
        // ML.NET's TorchSharp trainers apply the two ratios by default; so must these options.
        var mlContext = new MLContext(seed: 1);
        var options = SmallOptions();
        options.LearningRate = 0.02;
        options.FinalLearningRateRatio = 0.25;
        options.MaximumNumberOfEpochs = 2;

        var model = mlContext.Regression.Trainers.ClipTrainer(options).Fit(Load(mlContext, Regression(50, seed: 1)));

        Assert.Equal(0.02 * 0.25, model.History.Epochs[^1].LearningRate, 12);
    }

    [Theory]
    [InlineData(OptimizerKind.Adam, 0.1, 0.0)]
    [InlineData(OptimizerKind.AdamW, 0.5, 0.0)]
    [InlineData(OptimizerKind.Sgd, 0.1, 0.0)]
    [InlineData(OptimizerKind.Adam, 0.0, 0.01)]
    public void Fit_WeightDecayOrL1Penalty_ShrinksTheWeightsNorm(OptimizerKind optimizer, double weightDecay, double l1Penalty)
    {
        var baseline = FitForWeightNorm(optimizer, 0, 0);
        var regularized = FitForWeightNorm(optimizer, weightDecay, l1Penalty);

        Assert.True(regularized < 0.9 * baseline, $"norm {regularized} with regularization, {baseline} without");
    }

    [Fact]
    public void Fit_ProgressOptions_ReachTheCallbacks()
    {
        var mlContext = new MLContext(seed: 1);
        var epochs = new List<EpochRecord>();
        var steps = new List<TrainingStepRecord>();
        var options = SmallOptions();
        options.MaximumNumberOfEpochs = 2;
        options.BatchSize = 10;
        options.StepReportInterval = 4;
        options.EpochProgress = new Progress<EpochRecord>(epochs);
        options.StepProgress = new Progress<TrainingStepRecord>(steps);

        var model = mlContext.Regression.Trainers.ClipTrainer(options).Fit(Load(mlContext, Regression(100, seed: 1)));

        Assert.Equal(model.History.Epochs, epochs);
        Assert.Equal([(1, 4), (1, 8), (2, 4), (2, 8)], steps.Select(s => (s.Epoch, s.StepInEpoch))); // 10 steps per epoch
    }

    // ---- Helpers -------------------------------------------------------------------------------------------

    private static double FitForWeightNorm(OptimizerKind optimizer, double weightDecay, double l1Penalty)
    {
        var mlContext = new MLContext(seed: 1);
        var options = SmallOptions();
        options.Optimizer = optimizer;
        options.LearningRate = optimizer == OptimizerKind.Sgd ? 0.1 : 0.02;
        options.WeightDecay = weightDecay;
        options.L1Penalty = l1Penalty;
        options.MaximumNumberOfEpochs = 5;
        using var model = mlContext.Regression.Trainers.ClipTrainer(options).Fit(Load(mlContext, Regression(200, seed: 1)));
        double sum = 0;
        foreach (var parameter in model.Model.Network.parameters())
        {
            using var squared = parameter.detach().to(TorchSharp.torch.ScalarType.Float64).pow(2).sum();
            sum += squared.item<double>();
        }
        return Math.Sqrt(sum);
    }

    private sealed class Progress<T>(List<T> records) : IProgress<T>
    {
        public void Report(T value) => records.Add(value);
    }
}
