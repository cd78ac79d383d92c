using ClipTrainer.Clipping;
using ClipTrainer.Data;
using Microsoft.ML;
using Microsoft.ML.Data;
using Xunit;
using static ClipTrainer.Tests.SequenceTestData;

namespace ClipTrainer.Tests;

/// <summary>
/// The options checks that happen when a catalog creates the trainer: each option out of range, null options, the
/// short overload's own arguments, and the options copied at creation.
/// </summary>
[Collection(TorchSharpTrainingCollection.Name)]
public class ClipTrainerCatalogOptionsTests
{
    public static TheoryData<string, double, string> InvalidOptions() => new()
    {
        { nameof(SequenceTrainerOptions.InputSize), 0, "InputSize" },
        { nameof(SequenceTrainerOptions.InputSize), -1, "InputSize" },
        { nameof(SequenceTrainerOptions.SequenceLength), 0, "SequenceLength" },
        { nameof(SequenceTrainerOptions.SequenceLength), -3, "SequenceLength" },
        { nameof(SequenceTrainerOptions.MaximumNumberOfEpochs), 0, "MaximumNumberOfEpochs" },
        { nameof(SequenceTrainerOptions.BatchSize), 0, "BatchSize" },
        { nameof(SequenceTrainerOptions.LearningRate), double.NaN, "LearningRate" },
        { nameof(SequenceTrainerOptions.LearningRate), 0, "LearningRate" },
        { nameof(SequenceTrainerOptions.LearningRate), -1, "LearningRate" },
        { nameof(SequenceTrainerOptions.LearningRate), double.PositiveInfinity, "LearningRate" },
        { nameof(SequenceTrainerOptions.Dropout), 1, "Dropout" },
        { nameof(SequenceTrainerOptions.Dropout), double.NaN, "Dropout" },
        { nameof(SequenceTrainerOptions.Dropout), -0.1, "Dropout" },
        { nameof(SequenceTrainerOptions.HiddenSize), 0, "HiddenSize" },
        { nameof(SequenceTrainerOptions.NumberOfLayers), 0, "NumberOfLayers" },
        { nameof(SequenceTrainerOptions.Momentum), 1, "Momentum" },
        { nameof(SequenceTrainerOptions.WeightDecay), -1, "WeightDecay" },
        { nameof(SequenceTrainerOptions.L1Penalty), double.NaN, "L1Penalty" },
        { nameof(SequenceTrainerOptions.WarmupFraction), 1.5, "WarmupFraction" },
        { nameof(SequenceTrainerOptions.StartLearningRateRatio), 0, "StartLearningRateRatio" },
        { nameof(SequenceTrainerOptions.FinalLearningRateRatio), double.NegativeInfinity, "FinalLearningRateRatio" },
        { nameof(SequenceTrainerOptions.StepReportInterval), 0, "StepReportInterval" },
        { nameof(SequenceTrainerOptions.NumberOfThreads), 0, "NumberOfThreads" },
        { "Clipping.Threshold", double.NaN, "Threshold" },
        { "Clipping.Threshold", 0, "Threshold" },
        { "Clipping.Threshold", double.PositiveInfinity, "Threshold" },
        { "Clipping.NormType", 0.5, "NormType" },
        { "Clipping.NormType", double.NaN, "NormType" },
    };

    [Theory]
    [MemberData(nameof(InvalidOptions))]
    public void ClipTrainer_OptionOutOfRange_ThrowsAtCatalogCallNamingTheOption(string option, double value, string expectedParamName)
    {
        var mlContext = new MLContext(seed: 1);
        var creators = new Func<SequenceTrainerOptions, SequenceTrainer>[]
        {
            o => mlContext.MulticlassClassification.Trainers.ClipTrainer(o),
            o => mlContext.BinaryClassification.Trainers.ClipTrainer(o),
            o => mlContext.Regression.Trainers.ClipTrainer(o),
        };

        foreach (var create in creators)
        {
            var options = SmallOptions();
            Set(options, option, value);

            var exception = Assert.Throws<ArgumentOutOfRangeException>(() => create(options));

            Assert.Equal(expectedParamName, exception.ParamName);
            Assert.Contains(expectedParamName, exception.Message);
        }
    }

    [Fact]
    public void ClipTrainer_EarlyStoppingWithoutValidationSet_ThrowsArgumentExceptionNamingPatience()
    {
        var mlContext = new MLContext(seed: 1);
        var options = SmallOptions();
        options.EarlyStoppingPatience = 2;

        var exception = Assert.Throws<ArgumentException>(() => mlContext.Regression.Trainers.ClipTrainer(options));

        Assert.Equal(nameof(SequenceTrainerOptions.EarlyStoppingPatience), exception.ParamName);
        Assert.Contains("ValidationSet", exception.Message);
    }

    [Fact]
    public void ClipTrainer_EarlyStoppingPatienceZero_ThrowsNamingPatience()
    {
        var mlContext = new MLContext(seed: 1);
        var options = SmallOptions();
        options.ValidationSet = Load(mlContext, Regression(10, seed: 1));
        options.EarlyStoppingPatience = 0;

        var exception = Assert.Throws<ArgumentOutOfRangeException>(() => mlContext.Regression.Trainers.ClipTrainer(options));

        Assert.Equal(nameof(SequenceTrainerOptions.EarlyStoppingPatience), exception.ParamName);
    }

    [Fact]
    public void ClipTrainer_NullOptions_ThrowsArgumentNullException()
    {
        var mlContext = new MLContext(seed: 1);

        Assert.Throws<ArgumentNullException>(() => mlContext.MulticlassClassification.Trainers.ClipTrainer((SequenceTrainerOptions)null!));
    }

    [Fact]
    public void ClipTrainer_NullClippingOptions_ThrowsArgumentNullExceptionNamingClipping()
    {
        var mlContext = new MLContext(seed: 1);
        var options = SmallOptions();
        options.Clipping = null!;

        var exception = Assert.Throws<ArgumentNullException>(() => mlContext.Regression.Trainers.ClipTrainer(options));

        Assert.Equal(nameof(SequenceTrainerOptions.Clipping), exception.ParamName);
    }

    [Theory]
    [InlineData(0, 1.0, 2.0, "inputSize")]
    [InlineData(3, double.NaN, 2.0, "clippingThreshold")]
    [InlineData(3, 0.0, 2.0, "clippingThreshold")]
    [InlineData(3, 1.0, 0.5, "normType")]
    public void ClipTrainer_ShortOverloadArgumentOutOfRange_ThrowsAtCatalogCall(int inputSize, double threshold, double normType, string expectedParamName)
    {
        var mlContext = new MLContext(seed: 1);

        var exception = Assert.Throws<ArgumentOutOfRangeException>(() =>
            mlContext.Regression.Trainers.ClipTrainer(inputSize, clippingThreshold: threshold, normType: normType));

        Assert.Equal(expectedParamName, exception.ParamName);
    }

    [Fact]
    public void ClipTrainer_OptionsChangedAfterCreation_TrainerKeepsTheValuesItWasCreatedWith()
    {
        var mlContext = new MLContext(seed: 1);
        var options = SmallOptions();
        options.MaximumNumberOfEpochs = 2;
        options.Clipping.Threshold = 1e-6;
        var trainer = mlContext.Regression.Trainers.ClipTrainer(options);

        options.MaximumNumberOfEpochs = 5;
        options.Clipping.Mode = ClippingMode.None;
        var model = trainer.Fit(Load(mlContext, Regression(40, seed: 1)));

        Assert.Equal(2, model.History.Epochs.Count);
        Assert.All(model.History.Epochs, e => Assert.Equal(1.0, e.ClippedFraction));
    }

    private static void Set(SequenceTrainerOptions options, string option, double value)
    {
        switch (option)
        {
            case nameof(SequenceTrainerOptions.InputSize): options.InputSize = (int)value; break;
            case nameof(SequenceTrainerOptions.SequenceLength): options.SequenceLength = (int)value; break;
            case nameof(SequenceTrainerOptions.MaximumNumberOfEpochs): options.MaximumNumberOfEpochs = (int)value; break;
            case nameof(SequenceTrainerOptions.BatchSize): options.BatchSize = (int)value; break;
            case nameof(SequenceTrainerOptions.LearningRate): options.LearningRate = value; break;
            case nameof(SequenceTrainerOptions.Dropout): options.Dropout = value; break;
            case nameof(SequenceTrainerOptions.HiddenSize): options.HiddenSize = (int)value; break;
            case nameof(SequenceTrainerOptions.NumberOfLayers): options.NumberOfLayers = (int)value; break;
            case nameof(SequenceTrainerOptions.Momentum): options.Momentum = value; break;
            case nameof(SequenceTrainerOptions.WeightDecay): options.WeightDecay = value; break;
            case nameof(SequenceTrainerOptions.L1Penalty): options.L1Penalty = value; break;
            case nameof(SequenceTrainerOptions.WarmupFraction): options.WarmupFraction = value; break;
            case nameof(SequenceTrainerOptions.StartLearningRateRatio): options.StartLearningRateRatio = value; break;
            case nameof(SequenceTrainerOptions.FinalLearningRateRatio): options.FinalLearningRateRatio = value; break;
            case nameof(SequenceTrainerOptions.StepReportInterval): options.StepReportInterval = (int)value; break;
            case nameof(SequenceTrainerOptions.NumberOfThreads): options.NumberOfThreads = (int)value; break;
            case "Clipping.Threshold": options.Clipping.Threshold = value; break;
            case "Clipping.NormType": options.Clipping.NormType = value; break;
            default: throw new ArgumentException($"Unknown option {option}.", nameof(option));
        }
    }
}
