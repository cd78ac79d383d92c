using ClipTrainer.Clipping;
using Xunit;
using static TorchSharp.torch;

namespace ClipTrainer.Tests.Clipping;

/// <summary>AutoClip: the percentile of the history including the current norm, its window, its state.</summary>
public class AutoClipRuleTests
{
    /// <summary>Clips a gradient of the given values with the clipper; returns the clipped values and whether it clipped.</summary>
    internal static (float[] Values, bool Clipped) Step(GradientClipper clipper, params float[] gradient)
    {
        using var scope = NewDisposeScope();
        var parameter = Gradients.With(gradient);
        using var report = clipper.Clip(Gradients.Named(("w", parameter)));
        return (Gradients.Of(parameter), report.WasClipped);
    }

    private static void AssertValues(float[] expected, float[] actual)
    {
        Assert.Equal(expected.Length, actual.Length);
        for (var i = 0; i < expected.Length; i++) Assert.Equal(expected[i], actual[i], 1e-5f);
    }

    [Fact]
    public void Apply_Median_ClipsAtThePercentileOfTheHistoryThatIncludesTheCurrentNorm()
    {
        var clipper = new GradientClipper(new AutoClipRule(percentile: 50, window: 10));

        var first = Step(clipper, 3, 4);      // H = [5]: τ = 5, the norm itself: unchanged
        var second = Step(clipper, 0.6f, 0.8f); // H = [5, 1]: τ = 1 + 0.5·(5 − 1) = 3 > 1: unchanged
        var third = Step(clipper, 6, 8);      // H = [5, 1, 10]: τ = 5 (the middle one): scaled by 5/10

        AssertValues([3, 4], first.Values);
        Assert.False(first.Clipped);
        AssertValues([0.6f, 0.8f], second.Values);
        Assert.False(second.Clipped);
        AssertValues([3, 4], third.Values);
        Assert.True(third.Clipped);
    }

    [Fact]
    public void Apply_DefaultTenthPercentile_InterpolatesLinearly()
    {
        var clipper = new GradientClipper(new AutoClipRule());
        Step(clipper, 3, 4);
        Step(clipper, 0.6f, 0.8f);

        var third = Step(clipper, 6, 8); // sorted H = [1, 5, 10], h = 2·0.1 = 0.2: τ = 1 + 0.2·4 = 1.8

        AssertValues([6 * 0.18f, 8 * 0.18f], third.Values);
    }

    [Fact]
    public void Apply_WindowOfTwo_ForgetsTheOldestNorm()
    {
        var clipper = new GradientClipper(new AutoClipRule(percentile: 50, window: 2));
        Step(clipper, 3, 4);
        Step(clipper, 0.6f, 0.8f);

        var third = Step(clipper, 6, 8); // the 5 is gone: H = [1, 10], τ = 5.5

        AssertValues([6 * 0.55f, 8 * 0.55f], third.Values);
    }

    /// <summary>NumPy's linear percentile, written out for the test.</summary>
    private static double NumPyPercentile(IEnumerable<double> values, double percent)
    {
        var x = values.Order().ToArray();
        var h = (x.Length - 1) * percent / 100;
        var i = (int)Math.Floor(h);
        return i + 1 < x.Length ? x[i] + (h - i) * (x[i + 1] - x[i]) : x[i];
    }

    /// <summary>Feeds the norms as one-element gradients, then a norm of 1000 that is sure to be clipped: returns τ.</summary>
    private static double ThresholdAfter(AutoClipRule rule, IEnumerable<double> norms)
    {
        var clipper = new GradientClipper(rule);
        foreach (var norm in norms) Step(clipper, (float)norm);
        var (values, clipped) = Step(clipper, 1000f);
        Assert.True(clipped);
        return values[0]; // 1000 · τ / (1000 + 1e-6)
    }

    [Fact]
    public void Apply_FewerStepsThanTheWindow_IsTheExactPercentileOfTheWholeRun()
    {
        var random = new Random(5);
        var norms = Enumerable.Range(0, 40).Select(_ => (double)(float)(0.5 + random.NextDouble())).ToArray();

        var threshold = ThresholdAfter(new AutoClipRule(), norms);

        Assert.Equal(NumPyPercentile(norms.Append(1000), 10), threshold, 1e-4);
    }

    [Fact]
    public void Apply_UniformNormsLongerThanTheWindow_StaysWithinTheDocumentedBound()
    {
        // 600 norms from U(0, 1) through a window of 200: the window's 10th percentile lies within
        // 0.1 ± 1.96·√(0.1·0.9/200) = [0.058, 0.142] of the distribution's quantiles with 95% probability
        // (the docs' bound, here for W = 200 to keep the test short).
        var random = new Random(11);
        var norms = Enumerable.Range(0, 599).Select(_ => (double)(float)random.NextDouble()).ToArray();

        var threshold = ThresholdAfter(new AutoClipRule(window: 200), norms);

        Assert.Equal(NumPyPercentile(norms.TakeLast(199).Append(1000), 10), threshold, 1e-4); // exactly the window's
        Assert.InRange(threshold, 0.058, 0.142);
    }

    [Fact]
    public void ImportState_AfterThreeSteps_ContinuesAsTheUninterruptedRule()
    {
        var uninterrupted = new GradientClipper(new AutoClipRule(percentile: 50, window: 3));
        var first = new GradientClipper(new AutoClipRule(percentile: 50, window: 3));
        float[][] gradients = [[3, 4], [0.6f, 0.8f], [6, 8], [30, 40]];
        foreach (var g in gradients[..3])
        {
            Step(uninterrupted, g);
            Step(first, g);
        }

        var state = first.ExportState();
        var resumed = new GradientClipper(new AutoClipRule(percentile: 50, window: 3));
        resumed.ImportState(state);

        Assert.Equal(["rule.count", "rule.history", "skipped_steps"], state.Keys.Order());
        Assert.Equal(3L, state["rule.count"].item<long>());
        Assert.Equal([5.0, 1.0, 10.0], state["rule.history"].data<double>().ToArray(), new DoubleTolerance(1e-6));
        // Ring [5, 1, 10] ← 50 replaces the 5: H = [50, 1, 10], τ = 10, so [30, 40] is scaled by 10/50.
        AssertValues([6, 8], Step(resumed, gradients[3]).Values);
        AssertValues(Step(uninterrupted, gradients[3]).Values, [6, 8]);
    }

    [Fact]
    public void ImportState_WrongWindow_ThrowsNamingTheShape()
    {
        var rule = new AutoClipRule(window: 4);
        var state = new AutoClipRule(window: 3).ExportState();

        var error = Assert.Throws<ArgumentException>(() => rule.ImportState(state));

        Assert.Contains("history of 4 norms", error.Message);
        Assert.Contains("[3]", error.Message);
    }

    [Fact]
    public void ImportState_UnknownName_ThrowsNamingIt()
    {
        var state = new AutoClipRule().ExportState();
        state.Add("mean", tensor(1.0));

        var error = Assert.Throws<ArgumentException>(() => new AutoClipRule().ImportState(state));

        Assert.Contains("holds mean, which it does not know", error.Message);
    }
}
