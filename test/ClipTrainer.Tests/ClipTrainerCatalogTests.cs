using ClipTrainer.Clipping;
using ClipTrainer.Data;
using Microsoft.ML;
using Microsoft.ML.Data;
using Xunit;
using static ClipTrainer.Tests.SequenceTestData;

namespace ClipTrainer.Tests;

/// <summary>
/// The three catalogs' ClipTrainer methods in the pipelines users write: fit, transform, ML.NET's evaluators,
/// PredictionEngine, cross-validation, key values mapped back to the original strings, and the short overloads.
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
        // inputSize 2, no sequence length: a variable-size column whose rows hold 18 values (9 steps of 2 features).
        var mlContext = new MLContext(seed: 1);
        var rows = Binary(64, seed: 1).Select(r => new VariableBinaryRow { Features = r.Features, Label = r.Label }).ToList();
        var data = mlContext.Data.LoadFromEnumerable(rows);
        var trainer = mlContext.BinaryClassification.Trainers.ClipTrainer(inputSize: 2);

        var shape = trainer.GetOutputSchema(ShapeOf<VariableBinaryRow>(mlContext));
        var model = trainer.Fit(data);
        var score = Column<float>(model.Transform(data), "Score");
        var engine = mlContext.Model.CreatePredictionEngine<VariableBinaryRow, BinaryPrediction>(model);

        Assert.Contains(shape, c => c.Name == "Probability");
        Assert.Equal(SequenceTask.BinaryClassification, trainer.Task);
        Assert.Equal(2, model.Model.InputSize);
        Assert.Equal(new VectorDataViewType(NumberDataViewType.Single), model.FeatureColumnType);
        Assert.Equal(rows.Count, score.Count);
        Assert.All(Enumerable.Range(0, 10), i => Assert.Equal(score[i], engine.Predict(rows[i]).Score, 1e-5f));
        // Any other multiple of 2 scores as well: 10 values are 5 steps.
        var shorter = engine.Predict(new VariableBinaryRow { Features = rows[0].Features[..10] });
        Assert.True(float.IsFinite(shorter.Score));
        Assert.Equal(1 / (1 + Math.Exp(-shorter.Score)), shorter.Probability, 1e-6);
    }

    /// <summary>A binary row whose feature column is a variable-size vector (no VectorType size).</summary>
    public sealed class VariableBinaryRow
    {
        public float[] Features { get; set; } = [];

        public bool Label { get; set; }
    }
}
