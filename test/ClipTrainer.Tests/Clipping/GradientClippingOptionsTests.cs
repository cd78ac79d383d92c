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
        Assert.Equal(10.0, options.AutoClipPercentile);
        Assert.Equal(1000, options.AutoClipWindow);
        Assert.Equal(0.01, options.AdaptiveClippingFactor);
        Assert.Equal(1e-3, options.AdaptiveClippingEpsilon);
        Assert.Equal("head", options.AdaptiveClippingExcludedLayer);
        Assert.Equal(25, options.ZClipWarmupSteps);
        Assert.Equal(2.5, options.ZClipThreshold);
        Assert.Equal(0.97, options.ZClipAlpha);
        Assert.Equal(ZClipTarget.AdaptiveScaling, options.ZClipClipTarget);
        Assert.Null(options.ZClipMaximumNorm);
    }

    [Fact]
    public void Create_AdaptiveModes_MapTheirOptionsToTheirRules()
    {
        var options = new GradientClippingOptions
        {
            AutoClipPercentile = 25, AutoClipWindow = 7, AdaptiveClippingFactor = 0.05, AdaptiveClippingEpsilon = 1e-4,
            AdaptiveClippingExcludedLayer = null, ZClipWarmupSteps = 4, ZClipThreshold = 3, ZClipAlpha = 0.9,
            ZClipClipTarget = ZClipTarget.Mean, ZClipMaximumNorm = 2, NormType = 1,
        };

        options.Mode = ClippingMode.AutoClip;
        var autoClip = Assert.IsType<AutoClipRule>(GradientClipper.Create(options).Rule);
        options.Mode = ClippingMode.AdaptiveGradientClipping;
        var agc = Assert.IsType<AdaptiveGradientClippingRule>(GradientClipper.Create(options).Rule);
        options.Mode = ClippingMode.ZClip;
        var zClip = Assert.IsType<ZClipRule>(GradientClipper.Create(options).Rule);

        Assert.Equal((25.0, 7, 1.0), (autoClip.Percentile, autoClip.Window, autoClip.NormType));
        Assert.Equal((0.05, 1e-4, (string?)null), (agc.ClippingFactor, agc.Epsilon, agc.ExcludedLayer));
        Assert.Equal((4, 3.0, 0.9, ZClipTarget.Mean, (double?)2, 1.0), (zClip.WarmupSteps, zClip.Threshold, zClip.Alpha, zClip.Target, zClip.MaximumNorm, zClip.NormType));
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
        { "AutoClipPercentile", o => o.AutoClipPercentile = 0, "in (0, 100]" },
        { "AutoClipPercentile", o => o.AutoClipPercentile = 100.5, "but was 100.5" },
        { "AutoClipPercentile", o => o.AutoClipPercentile = double.NaN, "but was NaN" },
        { "AutoClipWindow", o => o.AutoClipWindow = 0, "in [1, 1000000], but was 0" },
        { "AutoClipWindow", o => o.AutoClipWindow = 1_000_001, "but was 1000001" },
        { "AdaptiveClippingFactor", o => o.AdaptiveClippingFactor = 0, "greater than 0, but was 0" },
        { "AdaptiveClippingFactor", o => o.AdaptiveClippingFactor = double.PositiveInfinity, "but was Infinity" },
        { "AdaptiveClippingEpsilon", o => o.AdaptiveClippingEpsilon = -1e-3, "but was -0.001" },
        { "AdaptiveClippingEpsilon", o => o.AdaptiveClippingEpsilon = double.NaN, "but was NaN" },
        { "AdaptiveClippingExcludedLayer", o => o.AdaptiveClippingExcludedLayer = " ", "or null to clip every layer" },
        { "ZClipWarmupSteps", o => o.ZClipWarmupSteps = 0, "in [1, 100000], but was 0" },
        { "ZClipThreshold", o => o.ZClipThreshold = -2.5, "but was -2.5" },
        { "ZClipThreshold", o => o.ZClipThreshold = double.NaN, "but was NaN" },
        { "ZClipAlpha", o => o.ZClipAlpha = 1, "in (0, 1)" },
        { "ZClipAlpha", o => o.ZClipAlpha = 0, "but was 0" },
        { "ZClipAlpha", o => o.ZClipAlpha = double.NaN, "but was NaN" },
        { "ZClipClipTarget", o => o.ZClipClipTarget = (ZClipTarget)2, "must be one of AdaptiveScaling, Mean" },
        { "ZClipMaximumNorm", o => o.ZClipMaximumNorm = 0, "greater than 0, but was 0" },
        { "ZClipMaximumNorm", o => o.ZClipMaximumNorm = double.PositiveInfinity, "but was Infinity" },
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
