using ClipTrainer.Data;
using ClipTrainer.Modeling;
using ClipTrainer.Training;
using Microsoft.ML;
using Microsoft.ML.Data;
using Xunit;
using static ClipTrainer.Tests.SequenceTestData;

namespace ClipTrainer.Tests;

/// <summary>
/// Schema errors of the estimator: missing columns, wrong types and sizes, a validation set that does not match,
/// rows without a usable label; ML.NET-style exceptions naming the column.
/// </summary>
[Collection(TorchSharpTrainingCollection.Name)]
public class SequenceTrainerSchemaErrorTests
{
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

        Assert.Equal(nameof(SequenceTrainerOptions.ValidationSet), exception.ParamName);
        Assert.Contains("In the ValidationSet: Schema mismatch for label column 'Label'", exception.Message);
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

        Assert.Equal("input", exception.ParamName);
        Assert.Contains("no row with a label: all 5 rows have a missing value in label column 'Label'", exception.Message);
    }

    // ---- Helpers -------------------------------------------------------------------------------------------

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
}
