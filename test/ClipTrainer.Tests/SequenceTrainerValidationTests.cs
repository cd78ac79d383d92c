using ClipTrainer.Data;
using ClipTrainer.Modeling;
using ClipTrainer.Training;
using Microsoft.ML;
using Microsoft.ML.Data;
using Xunit;
using static ClipTrainer.Tests.SequenceTestData;

namespace ClipTrainer.Tests;

/// <summary>
/// The validation set: per-epoch validation loss and metric against ML.NET's evaluators, and early stopping.
/// </summary>
[Collection(TorchSharpTrainingCollection.Name)]
public class SequenceTrainerValidationTests
{
    [Fact]
    public void Fit_WithoutValidationSet_HistoryHasNoValidationValues()
    {
        var mlContext = new MLContext(seed: 1);

        var model = mlContext.Regression.Trainers.ClipTrainer(SmallOptions()).Fit(Load(mlContext, Regression(50, seed: 1)));

        Assert.All(model.History.Epochs, e => Assert.Null(e.ValidationLoss));
        Assert.All(model.History.Epochs, e => Assert.Null(e.ValidationMetric));
    }

    [Fact]
    public void Fit_RegressionWithValidationSet_LastEpochValidationValuesMatchMlNetMetrics()
    {
        var mlContext = new MLContext(seed: 1);
        var validation = Load(mlContext, Regression(150, seed: 2));
        var options = SmallOptions();
        options.ValidationSet = validation;

        var model = mlContext.Regression.Trainers.ClipTrainer(options).Fit(Load(mlContext, Regression(300, seed: 1)));
        var metrics = mlContext.Regression.Evaluate(model.Transform(validation));

        Assert.Equal("RSquared", model.History.ValidationMetricName);
        Assert.All(model.History.Epochs, e => Assert.NotNull(e.ValidationLoss));
        var last = model.History.Epochs[^1];
        Assert.Equal(metrics.MeanSquaredError, last.ValidationLoss!.Value, 1e-6);
        Assert.Equal(metrics.RSquared, last.ValidationMetric!.Value, 1e-5);
    }

    [Fact]
    public void Fit_MulticlassWithValidationSet_LastEpochValidationValuesMatchMlNetMetrics()
    {
        var mlContext = new MLContext(seed: 1);
        var toKey = mlContext.Transforms.Conversion.MapValueToKey("Label").Fit(Load(mlContext, Multiclass(300, seed: 1)));
        var training = toKey.Transform(Load(mlContext, Multiclass(300, seed: 1)));
        var validation = toKey.Transform(Load(mlContext, Multiclass(150, seed: 2)));
        var options = SmallOptions();
        options.ValidationSet = validation;

        var model = mlContext.MulticlassClassification.Trainers.ClipTrainer(options).Fit(training);
        var metrics = mlContext.MulticlassClassification.Evaluate(model.Transform(validation));

        Assert.Equal("Accuracy", model.History.ValidationMetricName);
        var last = model.History.Epochs[^1];
        Assert.Equal(metrics.MicroAccuracy, last.ValidationMetric!.Value, 1e-12);
        Assert.Equal(metrics.LogLoss, last.ValidationLoss!.Value, 1e-5);
    }

    [Fact]
    public void Fit_BinaryWithValidationSet_ValidationMetricIsAccuracy()
    {
        var mlContext = new MLContext(seed: 1);
        var validation = Load(mlContext, Binary(150, seed: 2));
        var options = SmallOptions();
        options.ValidationSet = validation;

        var model = mlContext.BinaryClassification.Trainers.ClipTrainer(options).Fit(Load(mlContext, Binary(300, seed: 1)));
        var metrics = mlContext.BinaryClassification.EvaluateNonCalibrated(model.Transform(validation));

        Assert.Equal(metrics.Accuracy, model.History.Epochs[^1].ValidationMetric!.Value, 1e-12);
    }

    [Fact]
    public void Fit_EarlyStoppingOnOverfittingTask_StopsAfterPatienceAndRestoresTheBestEpoch()
    {
        // Labels are an offset plus noise: validation loss falls while the model learns the offset, then rises as it
        // memorizes the 40 training rows' noise.
        var mlContext = new MLContext(seed: 1);
        var validation = Load(mlContext, NoiseRegression(40, seed: 2));
        var options = SmallOptions();
        options.HiddenSize = 16;
        options.LearningRate = 0.01;
        options.BatchSize = 8;
        options.MaximumNumberOfEpochs = 40;
        options.ValidationSet = validation;
        options.EarlyStoppingPatience = 3;

        var model = mlContext.Regression.Trainers.ClipTrainer(options).Fit(Load(mlContext, NoiseRegression(40, seed: 1)));
        var history = model.History;

        Assert.True(history.StoppedEarly);
        Assert.True(history.Epochs.Count < 40, $"{history.Epochs.Count} epochs");
        var losses = history.Epochs.Select(e => e.ValidationLoss!.Value).ToList();
        Assert.Equal(losses.IndexOf(losses.Min()) + 1, history.BestEpoch);
        Assert.True(history.BestEpoch > 1, "the best epoch should not be the first here: the loss first falls");
        Assert.Equal(history.BestEpoch + 3, history.Epochs.Count);
        Assert.True(losses[^1] > losses[history.BestEpoch - 1] * 1.01, $"last {losses[^1]}, best {losses[history.BestEpoch - 1]}");

        double restored = mlContext.Regression.Evaluate(model.Transform(validation)).MeanSquaredError;
        Assert.Equal(losses[history.BestEpoch - 1], restored, 1e-6);
    }

    [Fact]
    public void Fit_EarlyStoppingWithNoFiniteValidationLoss_BestEpochIsTheLastEpoch()
    {
        // Labels of 1e20 make every squared error overflow float32: no epoch is ever "best", the weights stay the last.
        var mlContext = new MLContext(seed: 1);
        var validation = Regression(20, seed: 2);
        validation.ForEach(r => r.Label = 1e20f);
        var options = SmallOptions(maximumNumberOfEpochs: 5);
        options.ValidationSet = Load(mlContext, validation);
        options.EarlyStoppingPatience = 2;

        var model = mlContext.Regression.Trainers.ClipTrainer(options).Fit(Load(mlContext, Regression(40, seed: 1)));
        var history = model.History;

        Assert.All(history.Epochs, e => Assert.Equal(double.PositiveInfinity, e.ValidationLoss));
        Assert.Equal(2, history.Epochs.Count);
        Assert.True(history.StoppedEarly);
        Assert.Equal(history.Epochs.Count, history.BestEpoch);
    }

    [Fact]
    public void Fit_ValidationSetWithEveryLabelMissing_ThrowsArgumentExceptionBeforeTraining()
    {
        var mlContext = new MLContext(seed: 1);
        var validation = Regression(10, seed: 2);
        validation.ForEach(r => r.Label = float.NaN);
        var epochs = new List<EpochRecord>();
        var options = SmallOptions();
        options.ValidationSet = Load(mlContext, validation);
        options.EpochProgress = new Recorder(epochs);

        var exception = Assert.Throws<ArgumentException>(() =>
            mlContext.Regression.Trainers.ClipTrainer(options).Fit(Load(mlContext, Regression(20, seed: 1))));

        Assert.Equal(nameof(SequenceTrainerOptions.ValidationSet), exception.ParamName);
        Assert.Contains("ValidationSet has no row with a label: all 10 rows have a missing value in label column 'Label'", exception.Message);
        Assert.Empty(epochs);
    }

    private sealed class Recorder(List<EpochRecord> records) : IProgress<EpochRecord>
    {
        public void Report(EpochRecord value) => records.Add(value);
    }
}
