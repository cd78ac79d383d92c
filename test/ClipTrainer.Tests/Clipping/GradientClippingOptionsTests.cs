using ClipTrainer.Clipping;
using Xunit;

namespace ClipTrainer.Tests.Clipping;

public sealed class GradientClippingOptionsTests
{
    [Fact]
    public void Defaults_AreValidAndDocumented()
    {
        var options = new GradientClippingOptions();

        options.Validate();
        Assert.Equal(ClippingMode.GlobalNorm, options.Mode);
        Assert.Equal(1.0, options.Threshold);
        Assert.Equal(1.0, options.LocalThreshold);
        Assert.Equal(2.0, options.NormType);
        Assert.Equal(LocalNormScope.Parameter, options.LocalScope);
        Assert.Equal(NonFiniteGradientPolicy.Error, options.NonFinitePolicy);
    }

    [Theory]
    [InlineData(1.0)]
    [InlineData(1.5)]
    [InlineData(3.0)]
    [InlineData(double.PositiveInfinity)]
    public void Validate_AcceptsNormType_WhenAtLeastOneOrInfinity(double normType)
    {
        new GradientClippingOptions { NormType = normType }.Validate();
    }

    public static TheoryData<string, Action<GradientClippingOptions>, string> InvalidOptions => new()
    {
        { "Threshold", o => o.Threshold = double.NaN, "but was NaN" },
        { "Threshold", o => o.Threshold = double.PositiveInfinity, "but was Infinity" },
        { "Threshold", o => o.Threshold = double.NegativeInfinity, "but was -Infinity" },
        { "Threshold", o => o.Threshold = 0, "greater than 0, but was 0" },
        { "Threshold", o => o.Threshold = -1, "greater than 0, but was -1" },
        { "LocalThreshold", o => o.LocalThreshold = double.NaN, "but was NaN" },
        { "LocalThreshold", o => o.LocalThreshold = double.PositiveInfinity, "but was Infinity" },
        { "LocalThreshold", o => o.LocalThreshold = double.NegativeInfinity, "but was -Infinity" },
        { "LocalThreshold", o => o.LocalThreshold = 0, "greater than 0, but was 0" },
        { "LocalThreshold", o => o.LocalThreshold = -1, "greater than 0, but was -1" },
        { "NormType", o => o.NormType = double.NaN, "but was NaN" },
        { "NormType", o => o.NormType = double.NegativeInfinity, "but was -Infinity" },
        { "NormType", o => o.NormType = 0, "at least 1 or positive infinity" },
        { "NormType", o => o.NormType = -1, "but was -1" },
        { "NormType", o => o.NormType = 0.5, "but was 0.5" },
        { "NormType", o => o.NormType = 0.999, "but was 0.999" },
        { "Mode", o => o.Mode = (ClippingMode)99, "but was 99" },
        { "LocalScope", o => o.LocalScope = (LocalNormScope)(-1), "must be one of Parameter, Layer" },
        { "NonFinitePolicy", o => o.NonFinitePolicy = (NonFiniteGradientPolicy)3, "but was 3" },
    };

    [Theory]
    [MemberData(nameof(InvalidOptions))]
    public void Validate_Throws_WhenOptionIsOutOfRange(string property, Action<GradientClippingOptions> spoil, string fragment)
    {
        var options = new GradientClippingOptions();
        spoil(options);

        var error = Assert.Throws<ArgumentOutOfRangeException>(options.Validate);

        Assert.Equal(property, error.ParamName);
        Assert.Contains(property, error.Message, StringComparison.Ordinal);
        Assert.Contains(fragment, error.Message, StringComparison.Ordinal);
    }

    [Theory]
    [MemberData(nameof(InvalidOptions))]
    public void Create_Throws_WhenOptionIsOutOfRange(string property, Action<GradientClippingOptions> spoil, string fragment)
    {
        var options = new GradientClippingOptions();
        spoil(options);

        var error = Assert.Throws<ArgumentOutOfRangeException>(() => GradientClipper.Create(options));

        Assert.Equal(property, error.ParamName);
        Assert.Contains(fragment, error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Validate_ChecksEveryField_WhateverTheMode()
    {
        var options = new GradientClippingOptions { Mode = ClippingMode.None, LocalThreshold = 0 };

        var error = Assert.Throws<ArgumentOutOfRangeException>(options.Validate);

        Assert.Equal(nameof(GradientClippingOptions.LocalThreshold), error.ParamName);
    }

    [Fact]
    public void Create_CopiesOptions_SoLaterChangesDoNotAffectTheClipper()
    {
        var options = new GradientClippingOptions { Mode = ClippingMode.Value, Threshold = 2 };
        var clipper = GradientClipper.Create(options);

        options.Threshold = 5;

        Assert.Equal(2, Assert.IsType<ValueClippingRule>(clipper.Rule).ClipValue);
    }
}
