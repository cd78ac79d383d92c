using ClipTrainer.Data;
using Xunit;

namespace ClipTrainer.Tests.Data;

public class SequenceDatasetTests
{
    [Fact]
    public void CreateMulticlass_ValidRows_KeepsValuesLengthsAndClasses()
    {
        var dataset = SequenceDataset.CreateMulticlass(2, 3, [[1, 2], [3, 4, 5, 6]], [2, 0]);

        Assert.Equal(2, dataset.Count);
        Assert.Equal(SequenceTask.MulticlassClassification, dataset.LabelKind);
        Assert.Equal(new float[] { 3, 4, 5, 6 }, dataset.GetFeatures(1).ToArray());
        Assert.Equal(2, dataset.GetSequenceLength(1));
        Assert.Equal(2L, dataset.GetClassIndex(0));
        Assert.Equal(2, dataset.MaximumSequenceLength);
    }

    [Theory]
    [InlineData(-1L)]
    [InlineData(3L)]
    public void CreateMulticlass_ClassIndexOutOfRange_ThrowsArgumentException(long classIndex)
    {
        var exception = Assert.Throws<ArgumentException>(() => SequenceDataset.CreateMulticlass(1, 3, [[1]], [classIndex]));

        Assert.Equal("classIndices", exception.ParamName);
        Assert.Contains($"Class index {classIndex} of row 0 is outside [0, 3)", exception.Message);
    }

    [Fact]
    public void CreateBinary_SequenceNotMultipleOfInputSize_ThrowsNamingRow()
    {
        var exception = Assert.Throws<ArgumentException>(() => SequenceDataset.CreateBinary(2, [[1, 2], [1, 2, 3]], [true, false]));

        Assert.Equal("sequences", exception.ParamName);
        Assert.Contains("Sequence 1 holds 3 values", exception.Message);
    }

    [Fact]
    public void CreateRegression_NaNTarget_ThrowsArgumentException()
    {
        var exception = Assert.Throws<ArgumentException>(() => SequenceDataset.CreateRegression(1, [[1]], [float.NaN]));

        Assert.Equal("targets", exception.ParamName);
    }

    [Fact]
    public void CreateRegression_LabelCountDiffers_ThrowsArgumentException()
    {
        var exception = Assert.Throws<ArgumentException>(() => SequenceDataset.CreateRegression(1, [[1], [2]], [1f]));

        Assert.Equal("targets", exception.ParamName);
    }

    [Fact]
    public void CreateRegression_NonPositiveInputSize_ThrowsArgumentOutOfRange()
    {
        var exception = Assert.Throws<ArgumentOutOfRangeException>(() => SequenceDataset.CreateRegression(0, [[1]], [1f]));

        Assert.Equal("inputSize", exception.ParamName);
    }

    [Fact]
    public void GetTarget_MulticlassDataset_ThrowsInvalidOperation()
    {
        var dataset = SequenceDataset.CreateMulticlass(1, 2, [[1]], [1]);

        Assert.Throws<InvalidOperationException>(() => dataset.GetTarget(0));
    }

    [Fact]
    public void GetClassIndex_RegressionDataset_ThrowsInvalidOperation()
    {
        var dataset = SequenceDataset.CreateRegression(1, [[1]], [1f]);

        Assert.Throws<InvalidOperationException>(() => dataset.GetClassIndex(0));
    }

    [Theory]
    [InlineData(-1)]
    [InlineData(1)]
    public void GetFeatures_RowOutOfRange_ThrowsArgumentOutOfRange(int row)
    {
        var dataset = SequenceDataset.CreateBinary(1, [[1]], [true]);

        var exception = Assert.Throws<ArgumentOutOfRangeException>(() => dataset.GetFeatures(row).ToArray());

        Assert.Equal("row", exception.ParamName);
    }
}
