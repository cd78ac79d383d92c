using ClipTrainer.Modeling;
using ClipTrainer.Training;
using Microsoft.ML;
using Xunit;
using static ClipTrainer.Tests.SequenceTestData;

namespace ClipTrainer.Tests;

/// <summary>
/// Warm start through the ML.NET trainer (<c>Fit(data, initialModel)</c>): one epoch, then one more from its model, is
/// the two-epoch fit exactly when nothing but the weights carries over (plain SGD, constant rate, no shuffling, no
/// dropout); the initial model is left as it was; a model of other options is refused, naming every difference.
/// </summary>
[Collection(TorchSharpTrainingCollection.Name)]
public sealed class SequenceTrainerWarmStartTests
{
    private static SequenceTrainerOptions Options(int epochs)
    {
        var options = SmallOptions(maximumNumberOfEpochs: epochs);
        options.Optimizer = OptimizerKind.Sgd;
        options.Momentum = 0;            // stateless: the second fit's fresh optimizer is the same as the first's
        options.LearningRate = 0.05;
        options.Schedule = LearningRateSchedule.Constant;
        options.Shuffle = false;         // every epoch the same batch order
        options.NumberOfThreads = 1;
        return options;
    }

    private static float[][] Weights(SequenceTransformer model) =>
        model.Model.Network.parameters().Select(p => p.data<float>().ToArray()).ToArray();

    [Fact]
    public void Fit_FromAOneEpochModel_ForOneMoreEpoch_EqualsTheTwoEpochFitExactly_AndLeavesTheInitialModel()
    {
        var mlContext = new MLContext(seed: 1);
        var data = Load(mlContext, Regression(48, seed: 3));
        using var twoEpochs = mlContext.Regression.Trainers.ClipTrainer(Options(2)).Fit(data);
        using var oneEpoch = mlContext.Regression.Trainers.ClipTrainer(Options(1)).Fit(data);
        var initialWeights = Weights(oneEpoch);

        var continuing = Options(1);
        continuing.Seed = 77; // another seed's initialisation: the initial model's weights must replace it
        using var continued = mlContext.Regression.Trainers.ClipTrainer(continuing).Fit(data, oneEpoch.Model);

        var expected = Weights(twoEpochs);
        var actual = Weights(continued);
        for (var i = 0; i < expected.Length; i++) Assert.Equal(expected[i], actual[i]);
        var after = Weights(oneEpoch);
        for (var i = 0; i < initialWeights.Length; i++) Assert.Equal(initialWeights[i], after[i]);
        Assert.NotEqual(initialWeights[0], actual[0]); // and the second fit did train
        Assert.Single(continued.History.Epochs);
    }

    [Fact]
    public void Fit_FromAModelOfOtherOptions_IsRefusedBeforeTraining_NamingEveryDifference()
    {
        var mlContext = new MLContext(seed: 1);
        var data = Load(mlContext, Regression(24, seed: 3));
        using var initial = mlContext.Regression.Trainers.ClipTrainer(Options(1)).Fit(data);
        var other = Options(1);
        other.HiddenSize = initial.Model.Options!.HiddenSize + 3;
        other.CellType = initial.Model.Options.CellType == RecurrentCellType.Gru ? RecurrentCellType.Lstm : RecurrentCellType.Gru;

        var error = Assert.Throws<ArgumentException>(() => mlContext.Regression.Trainers.ClipTrainer(other).Fit(data, initial.Model));

        Assert.Equal("initialModel", error.ParamName);
        Assert.Contains($"HiddenSize: the initial model has {initial.Model.Options.HiddenSize}, the options and data give {other.HiddenSize}", error.Message);
        Assert.Contains($"CellType: the initial model has {initial.Model.Options.CellType}, the options and data give {other.CellType}", error.Message);
        Assert.DoesNotContain("InputSize", error.Message);
    }
}
