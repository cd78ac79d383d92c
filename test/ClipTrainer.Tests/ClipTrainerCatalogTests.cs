using ClipTrainer.Clipping;
using ClipTrainer.Data;
using Microsoft.ML;
using Microsoft.ML.Data;
using Xunit;
using static ClipTrainer.Tests.SequenceTestData;

namespace ClipTrainer.Tests;

/// <summary>
/// The three catalogs' ClipTrainer methods in the pipelines users write: fit, transform, ML.NET's evaluators,
/// PredictionEngine, cross-validation, and key values mapped back to the original strings; and the options checks
/// that happen when the trainer is created.
/// </summary>
[Collection(TorchSharpTrainingCollection.Name)]
public class ClipTrainerCatalogTests
{
    [Fact]
    public void MulticlassClipTrainer_StringLabelPipeline_LearnsAndMapsPredictionsBackToStrings()
    {
        var mlContext = new MLContext(seed: 1);
        var test = Multiclass(200, seed: 2);
        var pipeline = mlContext.Transforms.Conversion.MapValueToKey("Label")
            .Append(mlContext.MulticlassClassification.Trainers.ClipTrainer(SmallOptions()))
            .Append(mlContext.Transforms.Conversion.MapKeyToValue("PredictedLabel"));

        var model = pipeline.Fit(Load(mlContext, Multiclass(300, seed: 1)));
        var scored = model.Transform(Load(mlContext, test));
        var metrics = mlContext.MulticlassClassification.Evaluate(scored);

        // A constant or random predictor reaches about 1/3 accuracy and log-loss ≥ ln 3 ≈ 1.10 on three balanced classes.
        Assert.True(metrics.MicroAccuracy > 0.75, $"MicroAccuracy {metrics.MicroAccuracy}");
        Assert.True(metrics.LogLoss < 0.8, $"LogLoss {metrics.LogLoss}");
        var predicted = Column<ReadOnlyMemory<char>>(scored, "PredictedLabel").Select(v => v.ToString()).ToList();
        Assert.All(predicted, label => Assert.Contains(label, ClassNames));
        double agreement = predicted.Zip(test, (p, row) => p == row.Label ? 1.0 : 0.0).Average();
        Assert.Equal(metrics.MicroAccuracy, agreement, 9);

        var scores = VectorColumn(scored, "Score");
        Assert.All(scores, s =>
        {
            Assert.Equal(ClassNames.Length, s.Length);
            Assert.InRange(s.Sum(), 1 - 1e-5, 1 + 1e-5);
            Assert.All(s, p => Assert.InRange(p, 0f, 1f));
        });

        // The Score column's slot names are the classes in key order: the arg-max slot names the predicted label.
        VBuffer<ReadOnlyMemory<char>> slotNames = default;
        scored.Schema["Score"].GetSlotNames(ref slotNames);
        var names = slotNames.DenseValues().Select(v => v.ToString()).ToArray();
        Assert.Equal(ClassNames.OrderBy(n => n), names.OrderBy(n => n));
        for (int i = 0; i < scores.Count; i++)
            Assert.Equal(predicted[i], names[Array.IndexOf(scores[i], scores[i].Max())]);

        var engine = mlContext.Model.CreatePredictionEngine<MulticlassRow, MulticlassPrediction>(model);
        for (int i = 0; i < 20; i++)
        {
            var prediction = engine.Predict(test[i]);
            Assert.Equal(predicted[i], prediction.PredictedLabel);
            Assert.Equal(scores[i], prediction.Score, new FloatTolerance(1e-5f));
        }
    }

    [Fact]
    public void BinaryClipTrainer_BooleanLabelPipeline_LearnsWithConsistentScoreProbabilityAndLabel()
    {
        var mlContext = new MLContext(seed: 1);
        var test = Binary(200, seed: 2);
        var model = mlContext.BinaryClassification.Trainers.ClipTrainer(SmallOptions()).Fit(Load(mlContext, Binary(300, seed: 1)));
        var scored = model.Transform(Load(mlContext, test));

        var calibrated = mlContext.BinaryClassification.Evaluate(scored);
        var uncalibrated = mlContext.BinaryClassification.EvaluateNonCalibrated(scored);

        Assert.True(calibrated.Accuracy > 0.85, $"Accuracy {calibrated.Accuracy}");
        Assert.True(calibrated.AreaUnderRocCurve > 0.93, $"AUC {calibrated.AreaUnderRocCurve}");
        Assert.True(calibrated.LogLossReduction > 0.3, $"LogLossReduction {calibrated.LogLossReduction}");
        Assert.Equal(calibrated.Accuracy, uncalibrated.Accuracy, 12);

        var score = Column<float>(scored, "Score");
        var probability = Column<float>(scored, "Probability");
        var label = Column<bool>(scored, "PredictedLabel");
        for (int i = 0; i < score.Count; i++)
        {
            Assert.Equal(1 / (1 + Math.Exp(-score[i])), probability[i], 1e-6);
            Assert.Equal(score[i] > 0, label[i]);
        }
        double accuracy = label.Zip(test, (p, row) => p == WeightedSumIsPositive(row.Features) ? 1.0 : 0.0).Average();
        Assert.Equal(calibrated.Accuracy, accuracy, 9);

        var engine = mlContext.Model.CreatePredictionEngine<BinaryRow, BinaryPrediction>(model);
        for (int i = 0; i < 20; i++)
        {
            var prediction = engine.Predict(test[i]);
            Assert.Equal(label[i], prediction.PredictedLabel);
            Assert.Equal(score[i], prediction.Score, 1e-5f);
            Assert.Equal(probability[i], prediction.Probability, 1e-5f);
        }
    }

    [Fact]
    public void RegressionClipTrainer_SingleLabelPipeline_ExplainsMostOfTheVariance()
    {
        var mlContext = new MLContext(seed: 1);
        var test = Regression(200, seed: 2);
        var model = mlContext.Regression.Trainers.ClipTrainer(SmallOptions()).Fit(Load(mlContext, Regression(300, seed: 1)));
        var scored = model.Transform(Load(mlContext, test));

        var metrics = mlContext.Regression.Evaluate(scored);

        // Predicting the mean gives R² ≈ 0; the target's standard deviation is 2 × sqrt(1/18) ≈ 0.47.
        Assert.True(metrics.RSquared > 0.85, $"RSquared {metrics.RSquared}");
        Assert.True(metrics.RootMeanSquaredError < 0.2, $"RMSE {metrics.RootMeanSquaredError}");
        var score = Column<float>(scored, "Score");
        double mse = score.Zip(test, (s, row) => Math.Pow(s - row.Label, 2)).Average();
        Assert.Equal(metrics.MeanSquaredError, mse, 6);

        var engine = mlContext.Model.CreatePredictionEngine<RegressionRow, RegressionPrediction>(model);
        for (int i = 0; i < 20; i++)
            Assert.Equal(score[i], engine.Predict(test[i]).Score, 1e-5f);
    }

    [Fact]
    public void MulticlassClipTrainer_CrossValidateThreeFolds_EveryFoldLearns()
    {
        var mlContext = new MLContext(seed: 1);
        var pipeline = mlContext.Transforms.Conversion.MapValueToKey("Label")
            .Append(mlContext.MulticlassClassification.Trainers.ClipTrainer(SmallOptions()));

        var folds = mlContext.MulticlassClassification.CrossValidate(Load(mlContext, Multiclass(360, seed: 3)), pipeline, numberOfFolds: 3);

        Assert.Equal(3, folds.Count);
        Assert.Equal([0, 1, 2], folds.Select(f => f.Fold));
        Assert.All(folds, f => Assert.True(f.Metrics.MicroAccuracy > 0.65, $"fold {f.Fold}: MicroAccuracy {f.Metrics.MicroAccuracy}"));
        Assert.All(folds, f => Assert.Equal(6, Assert.IsType<SequenceTransformer>(((IEnumerable<ITransformer>)f.Model).Last()).History.Epochs.Count));
        Assert.Equal(360, folds.Sum(f => VectorColumn(f.ScoredHoldOutSet, "Score").Count));
    }

    [Fact]
    public void BinaryClipTrainer_CrossValidateTwoFolds_EveryFoldLearns()
    {
        var mlContext = new MLContext(seed: 1);
        var trainer = mlContext.BinaryClassification.Trainers.ClipTrainer(SmallOptions());

        var folds = mlContext.BinaryClassification.CrossValidate(Load(mlContext, Binary(400, seed: 3)), trainer, numberOfFolds: 2);

        Assert.Equal(2, folds.Count);
        Assert.All(folds, f => Assert.True(f.Metrics.AreaUnderRocCurve > 0.9, $"fold {f.Fold}: AUC {f.Metrics.AreaUnderRocCurve}"));
    }

    [Fact]
    public void RegressionClipTrainer_CrossValidateThreeFolds_EveryFoldLearns()
    {
        var mlContext = new MLContext(seed: 1);
        var trainer = mlContext.Regression.Trainers.ClipTrainer(SmallOptions());

        var folds = mlContext.Regression.CrossValidate(Load(mlContext, Regression(360, seed: 3)), trainer, numberOfFolds: 3);

        Assert.Equal(3, folds.Count);
        Assert.All(folds, f => Assert.True(f.Metrics.RSquared > 0.75, $"fold {f.Fold}: RSquared {f.Metrics.RSquared}"));
    }

    [Fact]
    public void ClipTrainer_ShortOverload_ReadsTheNamedColumnsAndAppliesTheClipping()
    {
        var mlContext = new MLContext(seed: 1);
        var data = Load(mlContext, Regression(64, seed: 1));
        var renamed = mlContext.Transforms.CopyColumns("Sequence", "Features").Append(mlContext.Transforms.CopyColumns("Target", "Label"))
            .Fit(data).Transform(data);
        renamed = mlContext.Transforms.DropColumns("Features", "Label").Fit(renamed).Transform(renamed);

        var clipped = mlContext.Regression.Trainers.ClipTrainer(InputSize, SequenceLength, labelColumnName: "Target",
            featureColumnName: "Sequence", clippingMode: ClippingMode.GlobalNorm, clippingThreshold: 1e-6).Fit(renamed);
        var unclipped = mlContext.Regression.Trainers.ClipTrainer(InputSize, SequenceLength, labelColumnName: "Target",
            featureColumnName: "Sequence", clippingMode: ClippingMode.None).Fit(renamed);

        // Documented default: 10 epochs; 64 rows in batches of 32 make 2 steps per epoch.
        Assert.Equal(10, clipped.History.Epochs.Count);
        Assert.All(clipped.History.Epochs, e => Assert.Equal(2, e.Steps));
        Assert.All(clipped.History.Epochs, e => Assert.Equal(1.0, e.ClippedFraction));
        Assert.All(unclipped.History.Epochs, e => Assert.Equal(0.0, e.ClippedFraction));
        Assert.Equal("Sequence", clipped.FeatureColumnName);
        Assert.Equal(64, Column<float>(clipped.Transform(renamed), "Score").Count);
    }

    [Fact]
    public void ClipTrainer_ShortOverloadWithoutSequenceLength_AcceptsAnyMultipleOfInputSize()
    {
        var mlContext = new MLContext(seed: 1);
        var trainer = mlContext.BinaryClassification.Trainers.ClipTrainer(inputSize: 2);

        var shape = trainer.GetOutputSchema(ShapeOf<BinaryRow>(mlContext)); // 18 = 9 steps of 2 features

        Assert.Contains(shape, c => c.Name == "Probability");
        Assert.Equal(SequenceTask.BinaryClassification, trainer.Task);
    }

    public static TheoryData<string, double, string> InvalidOptions() => new()
    {
        { nameof(SequenceTrainerOptions.InputSize), 0, "InputSize" },
        { nameof(SequenceTrainerOptions.InputSize), -1, "InputSize" },
        { nameof(SequenceTrainerOptions.SequenceLength), 0, "SequenceLength" },
        { nameof(SequenceTrainerOptions.SequenceLength), -3, "SequenceLength" },
        { nameof(SequenceTrainerOptions.MaxEpoch), 0, "MaxEpoch" },
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
        options.MaxEpoch = 2;
        options.Clipping.Threshold = 1e-6;
        var trainer = mlContext.Regression.Trainers.ClipTrainer(options);

        options.MaxEpoch = 5;
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
            case nameof(SequenceTrainerOptions.MaxEpoch): options.MaxEpoch = (int)value; break;
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
            case "Clipping.Threshold": options.Clipping.Threshold = value; break;
            case "Clipping.NormType": options.Clipping.NormType = value; break;
            default: throw new ArgumentException($"Unknown option {option}.", nameof(option));
        }
    }
}
