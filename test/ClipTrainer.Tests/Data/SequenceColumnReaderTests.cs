using ClipTrainer.Data;
using Microsoft.ML;
using Microsoft.ML.Data;
using Xunit;

namespace ClipTrainer.Tests.Data;

public class SequenceColumnReaderTests
{
    private static readonly MLContext Context = new(seed: 1);

    private static SequenceDataset Read(IDataView data, string label, SequenceTask kind, int inputSize, int? sequenceLength = null) =>
        SequenceColumnReader.Read(
            data,
            SequenceSchemaChecks.CheckFeatureColumn(data.Schema, "Features", inputSize, sequenceLength),
            SequenceSchemaChecks.CheckLabelColumn(data.Schema, label, kind));

    // LoadFromEnumerable stores a [KeyType] property's value v as key value v + 1, so the class index read back is v.
    [Fact]
    public void Read_KnownSizeKeyLabels_KeepsValuesAndMapsKeyMinusOneToClassIndex()
    {
        var data = Context.Data.LoadFromEnumerable(new[]
        {
            new FixedRow { Features = [1, 2, 3, 4, 5, 6], Label = 3 },
            new FixedRow { Features = [7, 8, 9, 10, 11, 12], Label = 1 },
        });

        var dataset = Read(data, "Label", SequenceTask.MulticlassClassification, inputSize: 2);

        Assert.Equal(2, dataset.Count);
        Assert.Equal(2, dataset.InputSize);
        Assert.Equal(4, dataset.NumberOfClasses);
        Assert.Equal(3, dataset.MaximumSequenceLength);
        Assert.Equal(new float[] { 7, 8, 9, 10, 11, 12 }, dataset.GetFeatures(1).ToArray());
        Assert.Equal(3, dataset.GetSequenceLength(0));
        Assert.Equal(3L, dataset.GetClassIndex(0));
        Assert.Equal(1L, dataset.GetClassIndex(1));
        Assert.Equal(0, dataset.SkippedRowCount);
    }

    [Fact]
    public void Read_KeyValueZero_SkipsAndCountsRow()
    {
        var raw = Context.Data.LoadFromEnumerable(new[]
        {
            new TextLabelRow { Features = [1, 1, 1], Label = "eel" },
            new TextLabelRow { Features = [2, 2, 2], Label = "dog" },
            new TextLabelRow { Features = [3, 3, 3], Label = "eel" },
        });
        // Values outside keyData map to key value 0, ML.NET's missing key.
        var keyData = Context.Data.LoadFromEnumerable(new[] { new KeyDataRow { Label = "cat" }, new KeyDataRow { Label = "dog" } });
        var data = Context.Transforms.Conversion.MapValueToKey("Label", keyData: keyData).Fit(raw).Transform(raw);

        var dataset = Read(data, "Label", SequenceTask.MulticlassClassification, inputSize: 3);

        Assert.Equal(1, dataset.Count);
        Assert.Equal(2, dataset.SkippedRowCount);
        Assert.Equal(2f, dataset.GetFeatures(0)[0]);
        Assert.Equal(1L, dataset.GetClassIndex(0));
    }

    [Fact]
    public void Read_MapValueToKeyStrings_ClassIndicesFollowKeyOrder()
    {
        var raw = Context.Data.LoadFromEnumerable(new[]
        {
            new TextLabelRow { Features = [0, 0], Label = "cat" },
            new TextLabelRow { Features = [1, 1], Label = "dog" },
            new TextLabelRow { Features = [2, 2], Label = "cat" },
            new TextLabelRow { Features = [3, 3], Label = "eel" },
        });
        var data = Context.Transforms.Conversion.MapValueToKey("Label").Fit(raw).Transform(raw);

        var dataset = Read(data, "Label", SequenceTask.MulticlassClassification, inputSize: 1);

        Assert.Equal(3, dataset.NumberOfClasses);
        Assert.Equal(new long[] { 0, 1, 0, 2 }, Enumerable.Range(0, 4).Select(dataset.GetClassIndex));
        Assert.Equal(2, dataset.GetSequenceLength(3));
    }

    [Fact]
    public void Read_VariableSizeVectors_RowLengthsFollowVectorLengths()
    {
        var data = Context.Data.LoadFromEnumerable(new[]
        {
            new VariableRow { Features = [1, 2], Label = 0.5f },
            new VariableRow { Features = [3, 4, 5, 6, 7, 8], Label = float.NaN },
            new VariableRow { Features = [9, 10, 11, 12], Label = -2f },
        });

        var dataset = Read(data, "Label", SequenceTask.Regression, inputSize: 2);

        Assert.Equal(2, dataset.Count);
        Assert.Equal(1, dataset.SkippedRowCount);
        Assert.Equal(1, dataset.GetSequenceLength(0));
        Assert.Equal(2, dataset.GetSequenceLength(1));
        Assert.Equal(new float[] { 9, 10, 11, 12 }, dataset.GetFeatures(1).ToArray());
        Assert.Equal(-2f, dataset.GetTarget(1));
        Assert.Equal(2, dataset.MaximumSequenceLength);
    }

    [Fact]
    public void Read_BooleanLabels_TargetsAreZeroOrOne()
    {
        var data = Context.Data.LoadFromEnumerable(new[]
        {
            new BooleanRow { Features = [1], Label = true },
            new BooleanRow { Features = [2], Label = false },
        });

        var dataset = Read(data, "Label", SequenceTask.BinaryClassification, inputSize: 1);

        Assert.Equal(new[] { 1f, 0f }, new[] { dataset.GetTarget(0), dataset.GetTarget(1) });
        Assert.Equal(2, dataset.NumberOfClasses);
    }

    [Fact]
    public void Read_SparseVector_IsDensified()
    {
        var data = Context.Data.LoadFromEnumerable(new[]
        {
            new SparseRow { Features = new VBuffer<float>(6, 2, [5f, 7f], [1, 4]), Label = 1f },
        });

        var dataset = Read(data, "Label", SequenceTask.Regression, inputSize: 3);

        Assert.Equal(new float[] { 0, 5, 0, 0, 7, 0 }, dataset.GetFeatures(0).ToArray());
    }

    [Theory]
    [InlineData(5)]
    [InlineData(0)]
    public void Read_RowLengthNotPositiveMultipleOfInputSize_ThrowsNamingColumnRowAndLength(int badLength)
    {
        var data = Context.Data.LoadFromEnumerable(new[]
        {
            new VariableRow { Features = [1, 2], Label = 1f },
            new VariableRow { Features = new float[badLength], Label = 1f },
        });

        var exception = Assert.Throws<InvalidOperationException>(() => Read(data, "Label", SequenceTask.Regression, inputSize: 2));

        Assert.Contains($"Row 1 of feature column 'Features' holds {badLength} values", exception.Message);
        Assert.Contains("multiple of InputSize 2", exception.Message);
    }

    [Theory]
    [InlineData(float.NaN, "NaN")]
    [InlineData(float.PositiveInfinity, "Infinity")]
    public void Read_NonFiniteFeature_ThrowsNamingColumnRowStepAndFeature(float value, string printed)
    {
        var features = new float[] { 1, 2, 3, 4, 5, 6 };
        features[3] = value; // time step 1, feature 1 with InputSize 2
        var data = Context.Data.LoadFromEnumerable(new[]
        {
            new FixedRow { Features = [1, 2, 3, 4, 5, 6], Label = 0 },
            new FixedRow { Features = features, Label = 1 },
        });

        var exception = Assert.Throws<InvalidOperationException>(() => Read(data, "Label", SequenceTask.MulticlassClassification, inputSize: 2));

        Assert.Contains($"Row 1 of feature column 'Features' holds {printed} at index 3 (time step 1, feature 1)", exception.Message);
    }

    [Fact]
    public void Read_InfiniteRegressionLabel_ThrowsNamingColumnAndRow()
    {
        var data = Context.Data.LoadFromEnumerable(new[]
        {
            new RegressionRow { Features = [1, 2], Label = 0.5f },
            new RegressionRow { Features = [3, 4], Label = float.NegativeInfinity },
        });

        var exception = Assert.Throws<InvalidOperationException>(() => Read(data, "Label", SequenceTask.Regression, inputSize: 2));

        Assert.Contains("Row 1 of label column 'Label' holds -Infinity", exception.Message);
    }

    public class RegressionRow
    {
        [VectorType(2)]
        public float[] Features { get; set; } = [];

        public float Label { get; set; }
    }

    [Fact]
    public void Read_ColumnInfoFromOtherSchema_RechecksAgainstData()
    {
        var fixedData = Context.Data.LoadFromEnumerable(new[] { new FixedRow { Features = new float[6], Label = 1 } });
        var booleanData = Context.Data.LoadFromEnumerable(new[] { new BooleanRow { Features = [1], Label = true } });
        var features = SequenceSchemaChecks.CheckFeatureColumn(booleanData.Schema, "Features", inputSize: 1);
        var label = SequenceSchemaChecks.CheckLabelColumn(fixedData.Schema, "Label", SequenceTask.MulticlassClassification);

        var exception = Assert.Throws<ArgumentOutOfRangeException>(() => SequenceColumnReader.Read(booleanData, features, label));

        Assert.Equal("Label", exception.ParamName);
        Assert.Contains("expected Key type, got Boolean", exception.Message);
    }

    public class FixedRow
    {
        [VectorType(6)]
        public float[] Features { get; set; } = [];

        [KeyType(4)]
        public uint Label { get; set; }
    }

    public class TextLabelRow
    {
        public float[] Features { get; set; } = [];

        public string Label { get; set; } = "";
    }

    public class KeyDataRow
    {
        public string Label { get; set; } = "";
    }

    public class VariableRow
    {
        public float[] Features { get; set; } = [];

        public float Label { get; set; }
    }

    public class BooleanRow
    {
        public float[] Features { get; set; } = [];

        public bool Label { get; set; }
    }

    public class SparseRow
    {
        [VectorType(6)]
        public VBuffer<float> Features { get; set; }

        public float Label { get; set; }
    }
}
