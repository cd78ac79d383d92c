using Xunit;
using ClipTrainer.Modeling;

namespace ClipTrainer.Tests.Modeling;

public class SequenceModelOptionsTests
{
    private static SequenceModelOptions ValidOptions() => new() { InputSize = 3, OutputSize = 2 };

    [Fact]
    public void Validate_DefaultsWithSizesSet_DoesNotThrow()
    {
        ValidOptions().Validate();
    }

    [Fact]
    public void Validate_DefaultInputSize_ThrowsBecauseItMustBeSet()
    {
        var options = new SequenceModelOptions { OutputSize = 2 };

        var exception = Assert.Throws<ArgumentOutOfRangeException>(options.Validate);

        Assert.Equal(nameof(SequenceModelOptions.InputSize), exception.ParamName);
    }

    [Theory]
    [InlineData(nameof(SequenceModelOptions.InputSize), 0, "InputSize must be greater than 0; got 0")]
    [InlineData(nameof(SequenceModelOptions.InputSize), -1, "InputSize must be greater than 0; got -1")]
    [InlineData(nameof(SequenceModelOptions.HiddenSize), 0, "HiddenSize must be greater than 0; got 0")]
    [InlineData(nameof(SequenceModelOptions.NumberOfLayers), 0, "NumberOfLayers must be greater than 0; got 0")]
    [InlineData(nameof(SequenceModelOptions.NumberOfLayers), -3, "NumberOfLayers must be greater than 0; got -3")]
    [InlineData(nameof(SequenceModelOptions.OutputSize), 0, "OutputSize must be greater than 0; got 0")]
    public void Validate_NonPositiveSize_ThrowsWithPropertyNameAndValue(string property, int value, string fragment)
    {
        var options = ValidOptions();
        typeof(SequenceModelOptions).GetProperty(property)!.SetValue(options, value);

        var exception = Assert.Throws<ArgumentOutOfRangeException>(options.Validate);

        Assert.Equal(property, exception.ParamName);
        Assert.Contains(fragment, exception.Message);
    }

    [Theory]
    [InlineData(double.NaN, "got NaN")]
    [InlineData(double.PositiveInfinity, "got Infinity")]
    [InlineData(double.NegativeInfinity, "got -Infinity")]
    [InlineData(-0.1, "got -0.1")]
    [InlineData(1.0, "got 1")]
    [InlineData(1.5, "got 1.5")]
    public void Validate_DropoutOutsideZeroToOne_ThrowsWithPropertyNameAndValue(double dropout, string fragment)
    {
        var options = ValidOptions();
        options.Dropout = dropout;

        var exception = Assert.Throws<ArgumentOutOfRangeException>(options.Validate);

        Assert.Equal(nameof(SequenceModelOptions.Dropout), exception.ParamName);
        Assert.Contains("Dropout must be in [0, 1)", exception.Message);
        Assert.Contains(fragment, exception.Message);
    }

    [Theory]
    [InlineData(0.0)]
    [InlineData(0.5)]
    [InlineData(0.999)]
    public void Validate_DropoutInsideZeroToOne_DoesNotThrow(double dropout)
    {
        var options = ValidOptions();
        options.Dropout = dropout;

        options.Validate();
    }

    [Fact]
    public void Validate_UndefinedCellType_ThrowsWithPropertyName()
    {
        var options = ValidOptions();
        options.CellType = (RecurrentCellType)42;

        var exception = Assert.Throws<ArgumentOutOfRangeException>(options.Validate);

        Assert.Equal(nameof(SequenceModelOptions.CellType), exception.ParamName);
        Assert.Contains("got 42", exception.Message);
    }

    [Fact]
    public void Validate_UndefinedPooling_ThrowsWithPropertyName()
    {
        var options = ValidOptions();
        options.Pooling = (SequencePooling)(-1);

        var exception = Assert.Throws<ArgumentOutOfRangeException>(options.Validate);

        Assert.Equal(nameof(SequenceModelOptions.Pooling), exception.ParamName);
        Assert.Contains("got -1", exception.Message);
    }

    [Theory]
    [InlineData(false, 7)]
    [InlineData(true, 14)]
    public void PooledSize_DependsOnDirections_HiddenSizeTimesDirections(bool bidirectional, int expected)
    {
        var options = new SequenceModelOptions { HiddenSize = 7, Bidirectional = bidirectional };

        Assert.Equal(expected, options.PooledSize);
    }

    [Fact]
    public void Clone_ThenChangeOriginal_CopyKeepsOldValues()
    {
        var options = ValidOptions();
        options.HiddenSize = 5;

        var copy = options.Clone();
        options.HiddenSize = 9;

        Assert.Equal(5, copy.HiddenSize);
        Assert.Equal(3, copy.InputSize);
    }
}
