using ClipTrainer.Clipping;
using ClipTrainer.Training;
using Xunit;

namespace ClipTrainer.Tests.Training;

/// <summary>The report's statistics against values computed by hand (NumPy's linear percentile, population deviation).</summary>
public class ThresholdProbeReportTests
{
    private static ThresholdProbeReport Report(params double[] norms) => new(
        new GradientClippingOptions { NormType = 2, LocalScope = LocalNormScope.Layer, NonFinitePolicy = NonFiniteGradientPolicy.SkipStep },
        norms, ["lstm[l0]", "head"], norms.Select(n => (IReadOnlyList<double>)[n / 2, n / 4]).ToArray());

    [Theory]
    [InlineData(0, 1.0)]
    [InlineData(10, 1.3)]    // h = 3·0.10 = 0.3: 1 + 0.3·(2 − 1)
    [InlineData(50, 2.5)]    // h = 1.5
    [InlineData(75, 3.25)]   // h = 2.25: 3 + 0.25·(4 − 3)
    [InlineData(90, 3.7)]    // h = 2.7
    [InlineData(100, 4.0)]
    public void Percentile_FourNorms_IsNumPysLinearInterpolation(double percent, double expected)
    {
        Assert.Equal(expected, Report(4, 1, 3, 2).Percentile(percent), 1e-12);
    }

    [Fact]
    public void Statistics_NonFiniteStepLeftOut_MatchHandValues()
    {
        var report = Report(4, 1, double.NaN, 3, 2);

        Assert.Equal(5, report.Steps);
        Assert.Equal(1, report.NonFiniteSteps);
        Assert.Equal(2.5, report.Mean, 1e-12);
        Assert.Equal(Math.Sqrt(1.25), report.StandardDeviation, 1e-12); // ((1.5² + 0.5²)·2) / 4
        Assert.Equal(2.5, report.Median, 1e-12);
        Assert.Equal(1.0, report.Minimum);
        Assert.Equal(4.0, report.Maximum);
        Assert.Equal(1.3, report.AutoClipThreshold, 1e-12);
        Assert.Equal(2.5, report.SuggestedThreshold, 1e-12);
        Assert.Equal((2.5 / 2 + 2.5 / 4) / 2, report.SuggestedLocalThreshold, 1e-12); // mean of the group norms (NaN step left out)
    }

    [Fact]
    public void ToClippingOptions_GlobalThenLocal_SetsBothThresholdsAndKeepsTheProbedOptions()
    {
        var options = Report(4, 1, 3, 2).ToClippingOptions(ClippingMode.GlobalThenLocal);

        Assert.Equal(ClippingMode.GlobalThenLocal, options.Mode);
        Assert.Equal(2.5, options.Threshold, 1e-12);
        Assert.Equal(0.9375, options.LocalThreshold, 1e-12);
        Assert.Equal(LocalNormScope.Layer, options.LocalScope);
        Assert.Equal(NonFiniteGradientPolicy.SkipStep, options.NonFinitePolicy);
        options.Validate();
    }

    [Theory]
    [InlineData(ClippingMode.None)]
    [InlineData(ClippingMode.Value)]
    [InlineData(ClippingMode.Custom)]
    public void ToClippingOptions_ModeWithoutASuggestion_ThrowsNamingMode(ClippingMode mode)
    {
        var error = Assert.Throws<ArgumentOutOfRangeException>(() => Report(1, 2).ToClippingOptions(mode));
        Assert.Equal("mode", error.ParamName);
        Assert.Contains(mode.ToString(), error.Message);
    }

    [Fact]
    public void ToClippingOptions_EveryNormZero_ThrowsInsteadOfAnInvalidThreshold()
    {
        var error = Assert.Throws<InvalidOperationException>(() => Report(0, 0, 0).ToClippingOptions(ClippingMode.GlobalNorm));
        Assert.Contains("SuggestedThreshold", error.Message);
    }

    [Theory]
    [InlineData(-1)]
    [InlineData(100.5)]
    [InlineData(double.NaN)]
    public void Percentile_OutOfRange_ThrowsNamingPercent(double percent)
    {
        Assert.Equal("percent", Assert.Throws<ArgumentOutOfRangeException>(() => Report(1, 2).Percentile(percent)).ParamName);
    }

    [Fact]
    public void ToMarkdown_FourNorms_ListsTheStatisticsAndSuggestions()
    {
        var text = Report(4, 1, 3, 2).ToString();

        Assert.StartsWith("Gradient-norm probe: 4 steps without clipping, p = 2", text);
        Assert.Contains("| Mean | 2.5 |", text);
        Assert.Contains("| 10th percentile | 1.3 |", text);
        Assert.Contains("| 50th percentile (median) | 2.5 |", text);
        Assert.Contains("| 75th percentile | 3.25 |", text);
        Assert.Contains("| Suggested GlobalNorm threshold (1 × mean, Pascanu et al. 2013) | 2.5 |", text);
        Assert.Contains("| Suggested LocalNorm threshold (1 × mean layer norm of 2) | 0.9375 |", text);
    }
}
