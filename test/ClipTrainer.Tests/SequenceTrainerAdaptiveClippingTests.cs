using ClipTrainer.Clipping;
using Microsoft.ML;
using Xunit;
using static ClipTrainer.Tests.SequenceTestData;

namespace ClipTrainer.Tests;

/// <summary>Each adaptive rule, with its default options alone, from the ML.NET options: the model learns.</summary>
[Collection(TorchSharpTrainingCollection.Name)]
public class SequenceTrainerAdaptiveClippingTests
{
    [Theory]
    [InlineData(ClippingMode.AutoClip, "AutoClip", true)]
    [InlineData(ClippingMode.AdaptiveGradientClipping, "AdaptiveGradientClipping", true)]
    [InlineData(ClippingMode.ZClip, "ZClip", false)] // clips spikes only: this smooth task's 60 steps may have none
    public void Fit_AdaptiveModeWithDefaults_LearnsTheRegressionTask(ClippingMode mode, string stageName, bool clips)
    {
        var mlContext = new MLContext(seed: 1);
        var options = SmallOptions();
        options.NumberOfThreads = 1;
        options.Clipping.Mode = mode;

        var model = mlContext.Regression.Trainers.ClipTrainer(options).Fit(Load(mlContext, Regression(300, seed: 1)));
        var metrics = mlContext.Regression.Evaluate(model.Transform(Load(mlContext, Regression(200, seed: 2))));

        var history = model.History;
        Assert.Equal([stageName], history.StageNames);
        Assert.True(metrics.RSquared > 0.7, $"{mode}: RSquared {metrics.RSquared}");
        Assert.True(history.Epochs[^1].TrainingLoss < 0.5 * history.Epochs[0].TrainingLoss,
            $"{mode}: loss {history.Epochs[0].TrainingLoss} → {history.Epochs[^1].TrainingLoss}");
        if (clips) Assert.True(history.Epochs.Any(e => e.ClippedFraction > 0), $"{mode} never clipped");
    }
}
