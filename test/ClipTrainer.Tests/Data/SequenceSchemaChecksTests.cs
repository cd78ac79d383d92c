using ClipTrainer.Data;
using Microsoft.ML;
using Microsoft.ML.Data;
using Xunit;

namespace ClipTrainer.Tests.Data;

public class SequenceSchemaChecksTests
{
    private static readonly MLContext Context = new(seed: 1);

    private static DataViewSchema Schema => Context.Data.LoadFromEnumerable(Array.Empty<SchemaRow>()).Schema;

    private static SchemaShape Shape => Context.Transforms
        .CustomMapping<EmptyRow, SchemaRow>((_, _) => { }, contractName: null)
        .GetOutputSchema(new SchemaShape(Array.Empty<SchemaShape.Column>()));

    [Fact]
    public void CheckFeatureColumn_KnownSizeMultipleOfInputSize_ReturnsSequenceLength()
    {
        var info = SequenceSchemaChecks.CheckFeatureColumn(Schema, nameof(SchemaRow.Fixed), inputSize: 2);

        Assert.Equal(nameof(SchemaRow.Fixed), info.Name);
        Assert.Equal(2, info.InputSize);
        Assert.Equal(3, info.SequenceLength);
        Assert.False(info.IsVariableLength);
    }

    [Fact]
    public void CheckFeatureColumn_KnownSizeMatchingSequenceLength_IsAccepted()
    {
        var info = SequenceSchemaChecks.CheckFeatureColumn(Schema, nameof(SchemaRow.Fixed), inputSize: 3, sequenceLength: 2);

        Assert.Equal(2, info.SequenceLength);
    }

    [Fact]
    public void CheckFeatureColumn_VariableSizeVector_ReturnsVariableLength()
    {
        var info = SequenceSchemaChecks.CheckFeatureColumn(Schema, nameof(SchemaRow.Variable), inputSize: 4, sequenceLength: null);

        Assert.True(info.IsVariableLength);
        Assert.Null(info.SequenceLength);
    }

    [Fact]
    public void CheckFeatureColumn_VariableSizeVectorWithSequenceLength_ThrowsAskingForKnownSize()
    {
        var exception = Assert.Throws<ArgumentOutOfRangeException>(() =>
            SequenceSchemaChecks.CheckFeatureColumn(Schema, nameof(SchemaRow.Variable), inputSize: 4, sequenceLength: 7));

        Assert.Equal(nameof(SchemaRow.Variable), exception.ParamName);
        Assert.Contains("expected known-size vector of Single of length 28 (SequenceLength 7 × InputSize 4)", exception.Message);
    }

    [Theory]
    [InlineData("Features", "Column 'Features' not found")]
    [InlineData(nameof(SchemaRow.DoubleVector), "Schema mismatch for feature column 'DoubleVector': expected known-size vector of Single, got Vector<Double, 6>")]
    [InlineData(nameof(SchemaRow.Single), "Schema mismatch for feature column 'Single': expected known-size vector of Single, got Single")]
    [InlineData(nameof(SchemaRow.Text), "Schema mismatch for feature column 'Text': expected known-size vector of Single, got String")]
    public void CheckFeatureColumn_MissingOrWrongType_ThrowsNamingColumn(string column, string fragment)
    {
        var exception = Assert.Throws<ArgumentOutOfRangeException>(() => SequenceSchemaChecks.CheckFeatureColumn(Schema, column, inputSize: 2));

        Assert.Equal(column, exception.ParamName);
        Assert.Contains(fragment, exception.Message);
    }

    [Fact]
    public void CheckFeatureColumn_KnownSizeNotSequenceLengthTimesInputSize_ThrowsWithExpectedAndActualSize()
    {
        var exception = Assert.Throws<ArgumentOutOfRangeException>(
            () => SequenceSchemaChecks.CheckFeatureColumn(Schema, nameof(SchemaRow.Fixed), inputSize: 2, sequenceLength: 4));

        Assert.Equal(nameof(SchemaRow.Fixed), exception.ParamName);
        Assert.Contains(
            "Schema mismatch for feature column 'Fixed': expected known-size vector of Single of length 8 (SequenceLength 4 × InputSize 2), got Vector<Single, 6>",
            exception.Message);
    }

    [Fact]
    public void CheckFeatureColumn_KnownSizeNotMultipleOfInputSize_Throws()
    {
        var exception = Assert.Throws<ArgumentOutOfRangeException>(
            () => SequenceSchemaChecks.CheckFeatureColumn(Schema, nameof(SchemaRow.Fixed), inputSize: 4));

        Assert.Equal(nameof(SchemaRow.Fixed), exception.ParamName);
        Assert.Contains("multiple of InputSize (4), got Vector<Single, 6>", exception.Message);
    }

    [Theory]
    [InlineData(0, null, "inputSize")]
    [InlineData(-2, null, "inputSize")]
    [InlineData(2, 0, "sequenceLength")]
    public void CheckFeatureColumn_NonPositiveShape_ThrowsNamingArgument(int inputSize, int? sequenceLength, string parameter)
    {
        var exception = Assert.Throws<ArgumentOutOfRangeException>(
            () => SequenceSchemaChecks.CheckFeatureColumn(Schema, nameof(SchemaRow.Fixed), inputSize, sequenceLength));

        Assert.Equal(parameter, exception.ParamName);
    }

    [Fact]
    public void CheckLabelColumn_KeyForMulticlass_ReturnsKeyCountAsClasses()
    {
        var info = SequenceSchemaChecks.CheckLabelColumn(Schema, nameof(SchemaRow.Key), SequenceTask.MulticlassClassification);

        Assert.Equal(5, info.NumberOfClasses);
        Assert.Equal(5, info.OutputSize);
        Assert.IsType<KeyDataViewType>(info.Type);
    }

    [Theory]
    [InlineData(nameof(SchemaRow.Boolean), SequenceTask.BinaryClassification, 2)]
    [InlineData(nameof(SchemaRow.Single), SequenceTask.Regression, 0)]
    public void CheckLabelColumn_MatchingScalar_IsAcceptedWithOneOutput(string column, SequenceTask kind, int classes)
    {
        var info = SequenceSchemaChecks.CheckLabelColumn(Schema, column, kind);

        Assert.Equal(kind, info.Kind);
        Assert.Equal(classes, info.NumberOfClasses);
        Assert.Equal(1, info.OutputSize);
    }

    [Theory]
    [InlineData("Label", SequenceTask.MulticlassClassification, "Column 'Label' not found")]
    [InlineData(nameof(SchemaRow.Single), SequenceTask.MulticlassClassification, "Schema mismatch for label column 'Single': expected Key type, got Single")]
    [InlineData(nameof(SchemaRow.Text), SequenceTask.MulticlassClassification, "expected Key type, got String")]
    [InlineData(nameof(SchemaRow.Single), SequenceTask.BinaryClassification, "Schema mismatch for label column 'Single': expected Boolean, got Single")]
    [InlineData(nameof(SchemaRow.Double), SequenceTask.Regression, "Schema mismatch for label column 'Double': expected Single, got Double")]
    [InlineData(nameof(SchemaRow.Key), SequenceTask.Regression, "expected Single, got Key<UInt32, 0-4>")]
    public void CheckLabelColumn_MissingOrWrongType_ThrowsNamingColumn(string column, SequenceTask kind, string fragment)
    {
        var exception = Assert.Throws<ArgumentOutOfRangeException>(() => SequenceSchemaChecks.CheckLabelColumn(Schema, column, kind));

        Assert.Equal(column, exception.ParamName);
        Assert.Contains(fragment, exception.Message);
    }

    [Theory]
    [InlineData(nameof(SchemaRow.Single), SequenceTask.MulticlassClassification, "mlContext.Transforms.Conversion.MapValueToKey(\"Single\")")]
    [InlineData(nameof(SchemaRow.Text), SequenceTask.MulticlassClassification, "run a ValidationSet through the same fitted transformer")]
    [InlineData(nameof(SchemaRow.Text), SequenceTask.BinaryClassification, "ConvertType(\"Text\", outputKind: DataKind.Boolean)")]
    [InlineData(nameof(SchemaRow.Single), SequenceTask.BinaryClassification, "ConvertType(\"Single\", outputKind: DataKind.Boolean)")]
    [InlineData(nameof(SchemaRow.Key), SequenceTask.BinaryClassification, "MapKeyToValue(\"Key\")")]
    [InlineData(nameof(SchemaRow.Double), SequenceTask.Regression, "ConvertType(\"Double\", outputKind: DataKind.Single)")]
    [InlineData(nameof(SchemaRow.Key), SequenceTask.Regression, "MapKeyToValue(\"Key\")")]
    public void CheckLabelColumn_WrongType_MessageNamesTheMlNetTransformThatConvertsIt(string column, SequenceTask kind, string fragment)
    {
        var fromSchema = Assert.Throws<ArgumentOutOfRangeException>(() => SequenceSchemaChecks.CheckLabelColumn(Schema, column, kind));
        var fromShape = Assert.Throws<ArgumentOutOfRangeException>(() => SequenceSchemaChecks.CheckLabelColumn(Shape, column, kind));

        Assert.Contains(fragment, fromSchema.Message);
        Assert.Contains(fragment, fromShape.Message);
    }

    [Fact]
    public void LabelRemedies_NamedTransforms_ConvertTheLabelsAsTheMessagesSay()
    {
        // The messages' advice, followed: text and numbers become Boolean labels, Double becomes Single.
        var mlContext = new Microsoft.ML.MLContext(seed: 1);
        var data = mlContext.Data.LoadFromEnumerable(new[]
        {
            new RemedyRow { Text = "true", Number = 1, Double = 2.5 },
            new RemedyRow { Text = "0", Number = 0, Double = -1 },
        });
        var converted = mlContext.Transforms.Conversion.ConvertType("Text", outputKind: Microsoft.ML.Data.DataKind.Boolean)
            .Append(mlContext.Transforms.Conversion.ConvertType("Number", outputKind: Microsoft.ML.Data.DataKind.Boolean))
            .Append(mlContext.Transforms.Conversion.ConvertType("Double", outputKind: Microsoft.ML.Data.DataKind.Single))
            .Fit(data).Transform(data);

        SequenceSchemaChecks.CheckLabelColumn(converted.Schema, "Text", SequenceTask.BinaryClassification);
        SequenceSchemaChecks.CheckLabelColumn(converted.Schema, "Number", SequenceTask.BinaryClassification);
        SequenceSchemaChecks.CheckLabelColumn(converted.Schema, "Double", SequenceTask.Regression);
        Assert.Equal([true, false], converted.GetColumn<bool>("Text"));
        Assert.Equal([true, false], converted.GetColumn<bool>("Number"));
        Assert.Equal([2.5f, -1f], converted.GetColumn<float>("Double"));
    }

    public sealed class RemedyRow
    {
        public string Text { get; set; } = "";

        public float Number { get; set; }

        public double Double { get; set; }
    }

    [Theory]
    [InlineData(nameof(SchemaRow.Fixed))]
    [InlineData(nameof(SchemaRow.Variable))]
    public void CheckFeatureColumnShape_VectorOfSingle_IsAccepted(string column)
    {
        SequenceSchemaChecks.CheckFeatureColumn(Shape, column);
    }

    [Theory]
    [InlineData("Features", "Column 'Features' not found")]
    [InlineData(nameof(SchemaRow.DoubleVector), "Schema mismatch for feature column 'DoubleVector': expected known-size vector of Single, got Vector<Double>")]
    [InlineData(nameof(SchemaRow.Key), "got Key<UInt32>")]
    public void CheckFeatureColumnShape_MissingOrWrongType_ThrowsNamingColumn(string column, string fragment)
    {
        var exception = Assert.Throws<ArgumentOutOfRangeException>(() => SequenceSchemaChecks.CheckFeatureColumn(Shape, column));

        Assert.Equal(column, exception.ParamName);
        Assert.Contains(fragment, exception.Message);
    }

    [Theory]
    [InlineData(nameof(SchemaRow.Key), SequenceTask.MulticlassClassification)]
    [InlineData(nameof(SchemaRow.Boolean), SequenceTask.BinaryClassification)]
    [InlineData(nameof(SchemaRow.Single), SequenceTask.Regression)]
    public void CheckLabelColumnShape_MatchingType_IsAccepted(string column, SequenceTask kind)
    {
        SequenceSchemaChecks.CheckLabelColumn(Shape, column, kind);
    }

    [Theory]
    [InlineData("Label", SequenceTask.Regression, "Column 'Label' not found")]
    [InlineData(nameof(SchemaRow.Single), SequenceTask.MulticlassClassification, "Schema mismatch for label column 'Single': expected Key type, got Single")]
    [InlineData(nameof(SchemaRow.Key), SequenceTask.Regression, "expected Single, got Key<UInt32>")]
    [InlineData(nameof(SchemaRow.Fixed), SequenceTask.Regression, "expected Single, got Vector<Single>")]
    [InlineData(nameof(SchemaRow.Double), SequenceTask.BinaryClassification, "expected Boolean, got Double")]
    public void CheckLabelColumnShape_MissingOrWrongType_ThrowsNamingColumn(string column, SequenceTask kind, string fragment)
    {
        var exception = Assert.Throws<ArgumentOutOfRangeException>(() => SequenceSchemaChecks.CheckLabelColumn(Shape, column, kind));

        Assert.Equal(column, exception.ParamName);
        Assert.Contains(fragment, exception.Message);
    }

    public class EmptyRow
    {
    }

    public class SchemaRow
    {
        [VectorType(6)]
        public float[] Fixed { get; set; } = [];

        public float[] Variable { get; set; } = [];

        [VectorType(6)]
        public double[] DoubleVector { get; set; } = [];

        [KeyType(5)]
        public uint Key { get; set; }

        public bool Boolean { get; set; }

        public float Single { get; set; }

        public double Double { get; set; }

        public string Text { get; set; } = "";
    }
}
