using ClipTrainer.Data;
using ClipTrainer.Modeling;
using ClipTrainer.Training;
using Microsoft.ML;
using Microsoft.ML.Data;
using Xunit;
using static ClipTrainer.Tests.SequenceTestData;

namespace ClipTrainer.Tests;

/// <summary>
/// The estimator contract: its output schema shape against what the fitted transformer and the transformed data
/// really have, for every task, renamed output columns and label kinds.
/// </summary>
[Collection(TorchSharpTrainingCollection.Name)]
public class SequenceTrainerSchemaTests
{
    [Fact]
    public void GetOutputSchema_MulticlassPipeline_MatchesFittedTransformerAndTransformedData()
    {
        var mlContext = new MLContext(seed: 1);
        var data = Load(mlContext, Multiclass(60, seed: 1));
        var options = SmallOptions();
        options.MaximumNumberOfEpochs = 1;
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
        options.MaximumNumberOfEpochs = 1;
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
        options.MaximumNumberOfEpochs = 1;
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
        options.MaximumNumberOfEpochs = 1;
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
        Assert.Equal(["Decision", "Margin", "Probability"], model.OutputColumnNames);
        Assert.Equal(["Features", "Label", "Decision", "Margin", "Probability"], scored.Schema.Select(c => c.Name));
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
        options.MaximumNumberOfEpochs = 1;
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
        options.MaximumNumberOfEpochs = 1;
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
        var rows = Multiclass(60, seed: 1).Select(r => new KeyLabelRow { Features = r.Features, Label = (uint)Array.IndexOf(ClassNames, r.Label) }).ToList();
        var data = mlContext.Data.LoadFromEnumerable(rows);
        var options = SmallOptions();
        options.MaximumNumberOfEpochs = 1;
        var trainer = mlContext.MulticlassClassification.Trainers.ClipTrainer(options);

        var shape = trainer.GetOutputSchema(ShapeOf<KeyLabelRow>(mlContext));
        var model = trainer.Fit(data);
        var scored = model.Transform(data);

        AssertSameColumns(shape, scored.Schema);
        Assert.Equal(new KeyDataViewType(typeof(uint), 3), scored.Schema["PredictedLabel"].Type);
        Assert.All(Column<uint>(scored, "PredictedLabel"), k => Assert.InRange(k, 1u, 3u));
    }

    // ---- Helpers -------------------------------------------------------------------------------------------

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
}
