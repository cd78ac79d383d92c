using ClipTrainer.Data;
using ClipTrainer.Modeling;
using ClipTrainer.Training;
using Microsoft.ML;
using Microsoft.ML.Data;
using Xunit;
using static ClipTrainer.Tests.SequenceTestData;

namespace ClipTrainer.Tests;

/// <summary>
/// The estimator: its output schema shape against what the fitted transformer and the transformed data really have,
/// schema errors, learning on every cell type and pooling, seeding, the device, and each option reaching training.
/// </summary>
[Collection(TorchSharpTrainingCollection.Name)]
public class SequenceTrainerTests
{
    // ---- The estimator contract -------------------------------------------------------------------------------

    [Fact]
    public void GetOutputSchema_MulticlassPipeline_MatchesFittedTransformerAndTransformedData()
    {
        var mlContext = new MLContext(seed: 1);
        var data = Load(mlContext, Multiclass(60, seed: 1));
        var options = SmallOptions();
        options.MaxEpoch = 1;
        var pipeline = mlContext.Transforms.Conversion.MapValueToKey("Label")
            .Append(mlContext.MulticlassClassification.Trainers.ClipTrainer(options))
            .Append(mlContext.Transforms.Conversion.MapKeyToValue("PredictedLabel"));

        var shape = pipeline.GetOutputSchema(ShapeOf<MulticlassRow>(mlContext));
        var model = pipeline.Fit(data);

        AssertSameColumns(shape, model.GetOutputSchema(data.Schema));
        AssertSameColumns(shape, model.Transform(data).Schema);
        var score = shape.Single(c => c.Name == "Score");
        Assert.Equal(SchemaShape.Column.VectorKind.Vector, score.Kind);
        Assert.Equal(NumberDataViewType.Single, score.ItemType);
        Assert.Contains(score.Annotations, a => a.Name == "SlotNames");
        Assert.Equal(TextDataViewType.Instance, shape.Single(c => c.Name == "PredictedLabel").ItemType);
    }

    [Fact]
    public void GetOutputSchema_MulticlassTrainerAlone_PredictedLabelIsKeyWithKeyValues()
    {
        var mlContext = new MLContext(seed: 1);
        var data = Load(mlContext, Multiclass(60, seed: 1));
        var options = SmallOptions();
        options.MaxEpoch = 1;
        var toKey = mlContext.Transforms.Conversion.MapValueToKey("Label");
        var trainer = mlContext.MulticlassClassification.Trainers.ClipTrainer(options);

        var shape = trainer.GetOutputSchema(toKey.GetOutputSchema(ShapeOf<MulticlassRow>(mlContext)));
        var keyed = toKey.Fit(data).Transform(data);
        var model = trainer.Fit(keyed);

        AssertSameColumns(shape, model.GetOutputSchema(keyed.Schema));
        AssertSameColumns(shape, model.Transform(keyed).Schema);
        var predicted = shape.Single(c => c.Name == "PredictedLabel");
        Assert.True(predicted.IsKey);
        Assert.Equal(SchemaShape.Column.VectorKind.Scalar, predicted.Kind);
        Assert.Contains(predicted.Annotations, a => a.Name == "KeyValues");
        var keyType = Assert.IsType<KeyDataViewType>(model.Transform(keyed).Schema["PredictedLabel"].Type);
        Assert.Equal(3ul, keyType.Count);
    }

    [Fact]
    public void GetOutputSchema_Binary_MatchesFittedTransformerAndTransformedData()
    {
        var mlContext = new MLContext(seed: 1);
        var data = Load(mlContext, Binary(60, seed: 1));
        var options = SmallOptions();
        options.MaxEpoch = 1;
        var trainer = mlContext.BinaryClassification.Trainers.ClipTrainer(options);

        var shape = trainer.GetOutputSchema(ShapeOf<BinaryRow>(mlContext));
        var model = trainer.Fit(data);

        AssertSameColumns(shape, model.GetOutputSchema(data.Schema));
        AssertSameColumns(shape, model.Transform(data).Schema);
        Assert.Equal(["Features", "Label", "Score", "Probability", "PredictedLabel"], shape.Select(c => c.Name));
        Assert.Equal(BooleanDataViewType.Instance, shape.Single(c => c.Name == "PredictedLabel").ItemType);
        Assert.Equal(NumberDataViewType.Single, shape.Single(c => c.Name == "Probability").ItemType);
    }

    [Fact]
    public void GetOutputSchema_RegressionOnVariableLengthColumn_MatchesFittedTransformerAndTransformedData()
    {
        var mlContext = new MLContext(seed: 1);
        var data = Load(mlContext, VariableRegression(60, seed: 1));
        var options = SmallOptions();
        options.SequenceLength = null;
        options.MaxEpoch = 1;
        var trainer = mlContext.Regression.Trainers.ClipTrainer(options);

        var shape = trainer.GetOutputSchema(ShapeOf<VariableRegressionRow>(mlContext));
        var model = trainer.Fit(data);

        AssertSameColumns(shape, model.GetOutputSchema(data.Schema));
        AssertSameColumns(shape, model.Transform(data).Schema);
        Assert.Equal(SchemaShape.Column.VectorKind.VariableVector, shape.Single(c => c.Name == "Features").Kind);
        Assert.Equal(["Features", "Label", "Score"], shape.Select(c => c.Name));
    }

    [Fact]
    public void GetOutputSchema_RenamedScoreAndPredictionColumns_LandInEveryOutputSchema()
    {
        var mlContext = new MLContext(seed: 1);
        var data = Load(mlContext, Binary(100, seed: 1));
        var options = SmallOptions();
        options.ScoreColumnName = "Margin";
        options.PredictionColumnName = "Decision";
        var trainer = mlContext.BinaryClassification.Trainers.ClipTrainer(options);

        var shape = trainer.GetOutputSchema(ShapeOf<BinaryRow>(mlContext));
        var model = trainer.Fit(data);
        var scored = model.Transform(data);

        Assert.Equal(["Features", "Label", "Margin", "Probability", "Decision"], shape.Select(c => c.Name));
        AssertSameColumns(shape, scored.Schema);
        Assert.Equal(["Margin", "Probability", "Decision"], model.OutputColumnNames);
        Assert.Null(scored.Schema.GetColumnOrNull("Score"));
        Assert.Null(scored.Schema.GetColumnOrNull("PredictedLabel"));
        var metrics = mlContext.BinaryClassification.EvaluateNonCalibrated(scored, scoreColumnName: "Margin", predictedLabelColumnName: "Decision");
        Assert.True(metrics.Accuracy > 0.6, $"Accuracy {metrics.Accuracy}");
    }

    [Fact]
    public void GetOutputSchema_RenamedMulticlassColumns_MapKeyToValueFindsThem()
    {
        var mlContext = new MLContext(seed: 1);
        var data = Load(mlContext, Multiclass(60, seed: 1));
        var options = SmallOptions();
        options.MaxEpoch = 1;
        options.ScoreColumnName = "Probabilities";
        options.PredictionColumnName = "Class";
        var pipeline = mlContext.Transforms.Conversion.MapValueToKey("Label")
            .Append(mlContext.MulticlassClassification.Trainers.ClipTrainer(options))
            .Append(mlContext.Transforms.Conversion.MapKeyToValue("Class"));

        var shape = pipeline.GetOutputSchema(ShapeOf<MulticlassRow>(mlContext));
        var scored = pipeline.Fit(data).Transform(data);

        AssertSameColumns(shape, scored.Schema);
        Assert.Equal(TextDataViewType.Instance, scored.Schema["Class"].Type);
        Assert.Equal(new VectorDataViewType(NumberDataViewType.Single, 3), scored.Schema["Probabilities"].Type);
        Assert.All(Column<ReadOnlyMemory<char>>(scored, "Class"), c => Assert.Contains(c.ToString(), ClassNames));
    }

    [Fact]
    public void GetOutputSchema_MulticlassWithSingleLabels_MatchesAndMapsBackToTheOriginalNumbers()
    {
        var mlContext = new MLContext(seed: 1);
        var rows = Multiclass(90, seed: 1).Select(r => new NumericClassRow { Features = r.Features, Label = 10f * (1 + Array.IndexOf(ClassNames, r.Label)) }).ToList();
        var data = mlContext.Data.LoadFromEnumerable(rows);
        var options = SmallOptions();
        options.MaxEpoch = 1;
        var pipeline = mlContext.Transforms.Conversion.MapValueToKey("Label")
            .Append(mlContext.MulticlassClassification.Trainers.ClipTrainer(options))
            .Append(mlContext.Transforms.Conversion.MapKeyToValue("PredictedLabel"));

        var shape = pipeline.GetOutputSchema(ShapeOf<NumericClassRow>(mlContext));
        var scored = pipeline.Fit(data).Transform(data);

        AssertSameColumns(shape, scored.Schema);
        Assert.Equal(NumberDataViewType.Single, scored.Schema["PredictedLabel"].Type);
        Assert.All(Column<float>(scored, "PredictedLabel"), v => Assert.Contains(v, new[] { 10f, 20f, 30f }));
    }

    [Fact]
    public void GetOutputSchema_MulticlassKeyLabelWithoutKeyValues_MatchesFittedTransformer()
    {
        var mlContext = new MLContext(seed: 1);
        var rows = Multiclass(60, seed: 1).Select(r => new KeyLabelRow { Features = r.Features, Label = (uint)(1 + Array.IndexOf(ClassNames, r.Label)) }).ToList();
        var data = mlContext.Data.LoadFromEnumerable(rows);
        var options = SmallOptions();
        options.MaxEpoch = 1;
        var trainer = mlContext.MulticlassClassification.Trainers.ClipTrainer(options);

        var shape = trainer.GetOutputSchema(ShapeOf<KeyLabelRow>(mlContext));
        var model = trainer.Fit(data);
        var scored = model.Transform(data);

        AssertSameColumns(shape, scored.Schema);
        Assert.Equal(new KeyDataViewType(typeof(uint), 3), scored.Schema["PredictedLabel"].Type);
        Assert.All(Column<uint>(scored, "PredictedLabel"), k => Assert.InRange(k, 1u, 3u));
    }

    // ---- Schema errors ------------------------------------------------------------------------------------------

    [Theory]
    [InlineData("MissingFeatures", "Features", "Column 'Features' not found")]
    [InlineData("DoubleFeatures", "Features", "Schema mismatch for feature column 'Features': expected known-size vector of Single, got Vector<Double, 18>")]
    [InlineData("ScalarFeatures", "Features", "Schema mismatch for feature column 'Features'")]
    [InlineData("MulticlassStringLabel", "Label", "Schema mismatch for label column 'Label': expected Key type, got String")]
    [InlineData("MulticlassSingleLabel", "Label", "Schema mismatch for label column 'Label': expected Key type, got Single")]
    [InlineData("BinarySingleLabel", "Label", "Schema mismatch for label column 'Label': expected Boolean, got Single")]
    [InlineData("RegressionBooleanLabel", "Label", "Schema mismatch for label column 'Label': expected Single, got Boolean")]
    [InlineData("RegressionDoubleLabel", "Label", "Schema mismatch for label column 'Label': expected Single, got Double")]
    [InlineData("MissingLabel", "Label", "Column 'Label' not found")]
    public void Fit_AndGetOutputSchema_SchemaMismatch_ThrowArgumentOutOfRangeNamingTheColumn(string scenario, string column, string fragment)
    {
        var mlContext = new MLContext(seed: 1);
        var (trainer, data, shape) = SchemaScenario(mlContext, scenario);

        var fromFit = Assert.Throws<ArgumentOutOfRangeException>(() => trainer.Fit(data));
        var fromShape = Assert.Throws<ArgumentOutOfRangeException>(() => trainer.GetOutputSchema(shape));

        Assert.Equal(column, fromFit.ParamName);
        Assert.Contains(fragment, fromFit.Message);
        Assert.Equal(column, fromShape.ParamName);
        Assert.Contains(fragment.Split(':')[0], fromShape.Message);
    }

    [Fact]
    public void Fit_KnownSizeNotSequenceLengthTimesInputSize_ThrowsNamingBothSizes()
    {
        var mlContext = new MLContext(seed: 1);
        var data = mlContext.Data.LoadFromEnumerable(new[] { new ShortRow { Features = new float[15], Label = 1 } });
        var trainer = mlContext.Regression.Trainers.ClipTrainer(SmallOptions());

        var exception = Assert.Throws<ArgumentOutOfRangeException>(() => trainer.Fit(data));

        Assert.Equal("Features", exception.ParamName);
        Assert.Contains("expected known-size vector of Single of length 18 (SequenceLength 6 × InputSize 3), got Vector<Single, 15>", exception.Message);
    }

    [Fact]
    public void Fit_KnownSizeNotMultipleOfInputSize_ThrowsWithoutSequenceLength()
    {
        var mlContext = new MLContext(seed: 1);
        var data = mlContext.Data.LoadFromEnumerable(new[] { new ShortRow { Features = new float[15], Label = 1 } });
        var options = SmallOptions();
        options.SequenceLength = null;
        options.InputSize = 4;
        var trainer = mlContext.Regression.Trainers.ClipTrainer(options);

        var exception = Assert.Throws<ArgumentOutOfRangeException>(() => trainer.Fit(data));

        Assert.Equal("Features", exception.ParamName);
        Assert.Contains("multiple of InputSize (4)", exception.Message);
    }

    [Fact]
    public void Fit_ValidationSetWithWrongLabelType_ThrowsNamingTheColumn()
    {
        var mlContext = new MLContext(seed: 1);
        var options = SmallOptions();
        options.ValidationSet = Load(mlContext, Binary(10, seed: 2));
        var trainer = mlContext.Regression.Trainers.ClipTrainer(options);

        var exception = Assert.Throws<ArgumentOutOfRangeException>(() => trainer.Fit(Load(mlContext, Regression(10, seed: 1))));

        Assert.Equal("Label", exception.ParamName);
        Assert.Contains("expected Single, got Boolean", exception.Message);
    }

    [Fact]
    public void Fit_ValidationSetKeyedByAnotherMapping_ThrowsNamingValidationSet()
    {
        // Same three class names, keyed in another order: class indices would silently disagree with training's.
        var mlContext = new MLContext(seed: 1);
        var training = Load(mlContext, Multiclass(30, seed: 1));
        var validationRows = Multiclass(30, seed: 2).OrderByDescending(r => r.Label).ToList();
        var validation = Load(mlContext, validationRows);
        var toKey = mlContext.Transforms.Conversion.MapValueToKey("Label");
        var options = SmallOptions();
        options.ValidationSet = toKey.Fit(validation).Transform(validation);
        var trainer = mlContext.MulticlassClassification.Trainers.ClipTrainer(options);

        var exception = Assert.Throws<ArgumentOutOfRangeException>(() => trainer.Fit(toKey.Fit(training).Transform(training)));

        Assert.Equal(nameof(SequenceTrainerOptions.ValidationSet), exception.ParamName);
        Assert.Contains("other key values", exception.Message);
    }

    [Fact]
    public void Fit_VariableLengthRowNotMultipleOfInputSize_ThrowsInvalidOperationNamingTheRow()
    {
        var mlContext = new MLContext(seed: 1);
        var rows = VariableRegression(5, seed: 1);
        rows[3].Features = [1f, 2f, 3f, 4f];
        var options = SmallOptions();
        options.SequenceLength = null;

        var exception = Assert.Throws<InvalidOperationException>(() => mlContext.Regression.Trainers.ClipTrainer(options).Fit(Load(mlContext, rows)));

        Assert.Contains("Features", exception.Message);
        Assert.Contains("3", exception.Message);
    }

    [Fact]
    public void Fit_EveryLabelMissing_ThrowsArgumentException()
    {
        var mlContext = new MLContext(seed: 1);
        var rows = Regression(5, seed: 1);
        rows.ForEach(r => r.Label = float.NaN);

        var exception = Assert.Throws<ArgumentException>(() => mlContext.Regression.Trainers.ClipTrainer(SmallOptions()).Fit(Load(mlContext, rows)));

        Assert.Contains("no usable rows", exception.Message);
    }

    // ---- Learning ------------------------------------------------------------------------------------------------

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
        Assert.Equal(bidirectional ? 2 * 12 : 12, model.LastTransformer.Model.Options.PooledSize);
        Assert.Equal(cell, model.LastTransformer.Model.Options.CellType);
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

    // ---- Seeds and device ---------------------------------------------------------------------------------------

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

    // ---- Options reach training ---------------------------------------------------------------------------------

    [Theory]
    [InlineData(1)]
    [InlineData(4)]
    public void Fit_MaxEpoch_IsTheNumberOfHistoryRecords(int maxEpoch)
    {
        var mlContext = new MLContext(seed: 1);
        var options = SmallOptions();
        options.MaxEpoch = maxEpoch;

        var model = mlContext.Regression.Trainers.ClipTrainer(options).Fit(Load(mlContext, Regression(50, seed: 1)));

        Assert.Equal(Enumerable.Range(1, maxEpoch), model.History.Epochs.Select(e => e.Epoch));
        Assert.Equal(maxEpoch, model.History.BestEpoch);
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
        options.MaxEpoch = 2;
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
        options.MaxEpoch = 3;

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
        options.MaxEpoch = 4;

        var model = mlContext.Regression.Trainers.ClipTrainer(options).Fit(Load(mlContext, Regression(50, seed: 1)));

        Assert.Equal([0.002, 0.004, 0.006, 0.008], model.History.Epochs.Select(e => e.LearningRate), new DoubleTolerance(1e-12));
    }

    [Fact]
    public void Fit_ConstantSchedule_EveryEpochUsesTheBaseLearningRate()
    {
        var mlContext = new MLContext(seed: 1);
        var options = SmallOptions();
        options.LearningRate = 0.0123;
        options.MaxEpoch = 2;
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
        options.MaxEpoch = 2;

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
        var steps = new List<TrainingStepReport>();
        var options = SmallOptions();
        options.MaxEpoch = 2;
        options.BatchSize = 10;
        options.StepReportInterval = 4;
        options.EpochProgress = new Progress<EpochRecord>(epochs);
        options.StepProgress = new Progress<TrainingStepReport>(steps);

        var model = mlContext.Regression.Trainers.ClipTrainer(options).Fit(Load(mlContext, Regression(100, seed: 1)));

        Assert.Equal(model.History.Epochs, epochs);
        Assert.Equal([(1, 4), (1, 8), (2, 4), (2, 8)], steps.Select(s => (s.Epoch, s.Step))); // 10 steps per epoch
    }

    // ---- Validation and early stopping ----------------------------------------------------------------------------

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
        options.MaxEpoch = 40;
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

    // ---- Helpers ------------------------------------------------------------------------------------------------

    private static (float[] Scores, double RSquared, double[] Losses) FitRegressionWithDropout(int seed)
    {
        var mlContext = new MLContext(seed: 1);
        var options = SmallOptions();
        options.Seed = seed;
        options.NumberOfLayers = 2;
        options.Dropout = 0.3;
        options.MaxEpoch = 3;
        var test = Load(mlContext, Regression(100, seed: 2));

        var model = mlContext.Regression.Trainers.ClipTrainer(options).Fit(Load(mlContext, Regression(200, seed: 1)));
        var scored = model.Transform(test);

        return (Column<float>(scored, "Score").ToArray(), mlContext.Regression.Evaluate(scored).RSquared,
            model.History.Epochs.Select(e => e.TrainingLoss).ToArray());
    }

    private static double FitForWeightNorm(OptimizerKind optimizer, double weightDecay, double l1Penalty)
    {
        var mlContext = new MLContext(seed: 1);
        var options = SmallOptions();
        options.Optimizer = optimizer;
        options.LearningRate = optimizer == OptimizerKind.Sgd ? 0.1 : 0.02;
        options.WeightDecay = weightDecay;
        options.L1Penalty = l1Penalty;
        options.MaxEpoch = 5;
        using var model = mlContext.Regression.Trainers.ClipTrainer(options).Fit(Load(mlContext, Regression(200, seed: 1)));
        double sum = 0;
        foreach (var parameter in model.Model.Network.parameters())
        {
            using var squared = parameter.detach().to(TorchSharp.torch.ScalarType.Float64).pow(2).sum();
            sum += squared.item<double>();
        }
        return Math.Sqrt(sum);
    }

    private static (SequenceTrainer Trainer, IDataView Data, SchemaShape Shape) SchemaScenario(MLContext mlContext, string scenario)
    {
        var options = SmallOptions();
        var multiclass = mlContext.MulticlassClassification.Trainers.ClipTrainer(options);
        var binary = mlContext.BinaryClassification.Trainers.ClipTrainer(options);
        var regression = mlContext.Regression.Trainers.ClipTrainer(options);
        return scenario switch
        {
            "MissingFeatures" => (regression, Rows(mlContext, new NoFeaturesRow()), ShapeOf<NoFeaturesRow>(mlContext)),
            "DoubleFeatures" => (regression, Rows(mlContext, new DoubleFeaturesRow()), ShapeOf<DoubleFeaturesRow>(mlContext)),
            "ScalarFeatures" => (regression, Rows(mlContext, new ScalarFeaturesRow()), ShapeOf<ScalarFeaturesRow>(mlContext)),
            "MulticlassStringLabel" => (multiclass, Load(mlContext, Multiclass(4, seed: 1)), ShapeOf<MulticlassRow>(mlContext)),
            "MulticlassSingleLabel" => (multiclass, Load(mlContext, Regression(4, seed: 1)), ShapeOf<RegressionRow>(mlContext)),
            "BinarySingleLabel" => (binary, Load(mlContext, Regression(4, seed: 1)), ShapeOf<RegressionRow>(mlContext)),
            "RegressionBooleanLabel" => (regression, Load(mlContext, Binary(4, seed: 1)), ShapeOf<BinaryRow>(mlContext)),
            "RegressionDoubleLabel" => (regression, Rows(mlContext, new DoubleLabelRow()), ShapeOf<DoubleLabelRow>(mlContext)),
            "MissingLabel" => (binary, Rows(mlContext, new NoLabelRow()), ShapeOf<NoLabelRow>(mlContext)),
            _ => throw new ArgumentException($"Unknown scenario {scenario}.", nameof(scenario)),
        };
    }

    private static IDataView Rows<T>(MLContext mlContext, T row) where T : class => mlContext.Data.LoadFromEnumerable(new[] { row });

    /// <summary>Asserts that a schema shape describes exactly the visible columns of a schema: kinds, item types, key-ness, annotations.</summary>
    internal static void AssertSameColumns(SchemaShape shape, DataViewSchema schema)
    {
        var visible = schema.Where(c => !c.IsHidden).ToList();
        Assert.Equal(visible.Select(c => c.Name).Order(), shape.Select(c => c.Name).Order());
        foreach (var column in visible)
        {
            var expected = shape.Single(c => c.Name == column.Name);
            var (kind, itemType, isKey) = ShapeOf(column.Type);
            Assert.True(expected.Kind == kind, $"column '{column.Name}': shape kind {expected.Kind}, schema kind {kind}");
            Assert.True(expected.ItemType.Equals(itemType), $"column '{column.Name}': shape item type {expected.ItemType}, schema item type {itemType}");
            Assert.True(expected.IsKey == isKey, $"column '{column.Name}': shape key {expected.IsKey}, schema key {isKey}");
            var annotations = column.Annotations.Schema.Select(a => (a.Name, ShapeOf(a.Type))).OrderBy(a => a.Name).ToList();
            var shapeAnnotations = expected.Annotations.Select(a => (a.Name, (a.Kind, a.ItemType, a.IsKey))).OrderBy(a => a.Name).ToList();
            Assert.True(annotations.SequenceEqual(shapeAnnotations),
                $"column '{column.Name}': schema annotations [{string.Join(", ", annotations)}], shape annotations [{string.Join(", ", shapeAnnotations)}]");
        }
    }

    // How ML.NET's SchemaShape.Create describes a column type (that method is internal).
    private static (SchemaShape.Column.VectorKind Kind, DataViewType ItemType, bool IsKey) ShapeOf(DataViewType type)
    {
        var kind = type is VectorDataViewType vector
            ? vector.IsKnownSize ? SchemaShape.Column.VectorKind.Vector : SchemaShape.Column.VectorKind.VariableVector
            : SchemaShape.Column.VectorKind.Scalar;
        var item = type is VectorDataViewType v ? v.ItemType : type;
        if (item is KeyDataViewType key)
            return (kind, key.RawType == typeof(uint) ? NumberDataViewType.UInt32 : key.RawType == typeof(ulong) ? NumberDataViewType.UInt64
                : key.RawType == typeof(ushort) ? NumberDataViewType.UInt16 : NumberDataViewType.Byte, true);
        return (kind, item, false);
    }

    private sealed class Progress<T>(List<T> records) : IProgress<T>
    {
        public void Report(T value) => records.Add(value);
    }

    public sealed class NumericClassRow
    {
        [VectorType(VectorSize)]
        public float[] Features { get; set; } = [];

        public float Label { get; set; }
    }

    public sealed class KeyLabelRow
    {
        [VectorType(VectorSize)]
        public float[] Features { get; set; } = [];

        [KeyType(3)]
        public uint Label { get; set; }
    }

    public sealed class ShortRow
    {
        [VectorType(15)]
        public float[] Features { get; set; } = [];

        public float Label { get; set; }
    }

    public sealed class NoFeaturesRow
    {
        [VectorType(VectorSize)]
        public float[] Sequence { get; set; } = new float[VectorSize];

        public float Label { get; set; }
    }

    public sealed class DoubleFeaturesRow
    {
        [VectorType(VectorSize)]
        public double[] Features { get; set; } = new double[VectorSize];

        public float Label { get; set; }
    }

    public sealed class ScalarFeaturesRow
    {
        public float Features { get; set; }

        public float Label { get; set; }
    }

    public sealed class DoubleLabelRow
    {
        [VectorType(VectorSize)]
        public float[] Features { get; set; } = new float[VectorSize];

        public double Label { get; set; }
    }

    public sealed class NoLabelRow
    {
        [VectorType(VectorSize)]
        public float[] Features { get; set; } = new float[VectorSize];

        public bool Target { get; set; }
    }
}
