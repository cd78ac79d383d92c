using ClipTrainer.Clipping;
using Xunit;
using static ClipTrainer.Tests.Clipping.AutoClipRuleTests;

namespace ClipTrainer.Tests.Clipping;

/// <summary>ZClip: warm-up, z-score spikes, both clip targets, the cap, the moving statistics with the new mean, the state.</summary>
public class ZClipRuleTests
{
    // Warm-up norms 1, 2, 3 → μ = 2, σ² = ((−1)² + 0² + 1²)/3 = 2/3.
    private const double WarmMean = 2, WarmVariance = 2.0 / 3;

    private static GradientClipper WarmedUp(ZClipTarget target = ZClipTarget.AdaptiveScaling, double? maximumNorm = null)
    {
        var clipper = new GradientClipper(new ZClipRule(warmupSteps: 3, threshold: 2.5, alpha: 0.5, target, maximumNorm));
        Step(clipper, 1);
        Step(clipper, 2);
        Step(clipper, -3);
        return clipper;
    }

    private static (double Mean, double Variance, long Count) State(GradientClipper clipper)
    {
        var state = clipper.ExportState();
        return (state["rule.mean"].item<double>(), state["rule.variance"].item<double>(), state["rule.count"].item<long>());
    }

    [Fact]
    public void Apply_WarmUp_ClipsNothingThenStartsFromTheMeanAndPopulationVariance()
    {
        var clipper = new GradientClipper(new ZClipRule(warmupSteps: 3, threshold: 2.5, alpha: 0.5));

        var steps = new[] { Step(clipper, 1), Step(clipper, 2), Step(clipper, -3) };

        Assert.All(steps, s => Assert.False(s.Clipped));
        Assert.Equal(-3f, steps[2].Values[0]);
        var (mean, variance, count) = State(clipper);
        Assert.Equal(WarmMean, mean, 1e-6);
        Assert.Equal(WarmVariance, variance, 1e-6);
        Assert.Equal(3, count);
    }

    [Fact]
    public void Apply_SpikeAfterWarmUp_ClipsToTheAdaptiveValueAndUpdatesWithTheNewMean()
    {
        var clipper = WarmedUp();

        var spike = Step(clipper, 6, 8); // ‖g‖ = 10

        // z = (10 − 2)/(σ + 1e-6) with σ = √(2/3); v = μ + 2.5·σ/(z/2.5).
        var sigma = Math.Sqrt(WarmVariance);
        var z = (10 - WarmMean) / (sigma + 1e-6);
        var v = WarmMean + 2.5 * sigma / (z / 2.5); // ≈ 2.5208
        Assert.True(spike.Clipped);
        Assert.Equal(6 * v / 10, spike.Values[0], 1e-5);
        Assert.Equal(8 * v / 10, spike.Values[1], 1e-5);
        var mean = 0.5 * WarmMean + 0.5 * v;
        var variance = 0.5 * WarmVariance + 0.5 * (v - mean) * (v - mean); // the new μ
        var state = State(clipper);
        Assert.Equal(mean, state.Mean, 1e-9);
        Assert.Equal(variance, state.Variance, 1e-9);

        var calm = Step(clipper, 2.3f); // z ≈ 0.065 < 2.5: unchanged, statistics move with ‖g‖ itself
        Assert.False(calm.Clipped);
        Assert.Equal(2.3f, calm.Values[0]);
        var nextMean = 0.5 * mean + 0.5 * 2.3f;
        Assert.Equal(nextMean, State(clipper).Mean, 1e-7);
        Assert.Equal(0.5 * variance + 0.5 * (2.3f - nextMean) * (2.3f - nextMean), State(clipper).Variance, 1e-7);
    }

    [Fact]
    public void Apply_MeanTarget_ClipsASpikeToTheMean()
    {
        var clipper = WarmedUp(ZClipTarget.Mean);

        var spike = Step(clipper, 6, 8);

        Assert.Equal(6 * WarmMean / 10, spike.Values[0], 1e-5);
        Assert.Equal(8 * WarmMean / 10, spike.Values[1], 1e-5);
        Assert.Equal(WarmMean, State(clipper).Mean, 1e-9); // v = μ: the mean stays
    }

    [Fact]
    public void Apply_MaximumNorm_CapsWarmUpAndCalmStepsButStaysOutOfTheStatistics()
    {
        var clipper = new GradientClipper(new ZClipRule(warmupSteps: 3, threshold: 2.5, alpha: 0.5, maximumNorm: 1.5));

        var warm = new[] { Step(clipper, 1), Step(clipper, 2), Step(clipper, -3) };
        var calm = Step(clipper, 2.5f); // z = 0.5/σ ≈ 0.61: no spike, but above the cap

        Assert.False(warm[0].Clipped);
        Assert.Equal(1.5f, warm[1].Values[0], 1e-5f);
        Assert.Equal(-1.5f, warm[2].Values[0], 1e-5f);
        Assert.Equal(1.5f, calm.Values[0], 1e-5f);
        Assert.Equal(0.5 * WarmMean + 0.5 * 2.5, State(clipper).Mean, 1e-6); // the statistics saw 2, 3 and 2.5, not 1.5
    }

    [Fact]
    public void ImportState_AfterASpike_ContinuesAsTheUninterruptedRule()
    {
        var uninterrupted = WarmedUp();
        var first = WarmedUp();
        Step(uninterrupted, 6, 8);
        Step(first, 6, 8);

        var resumed = new GradientClipper(new ZClipRule(warmupSteps: 3, threshold: 2.5, alpha: 0.5));
        resumed.ImportState(first.ExportState());

        Assert.Equal(State(first), State(resumed));
        var expected = Step(uninterrupted, 9, 12);
        var actual = Step(resumed, 9, 12);
        Assert.True(actual.Clipped);
        Assert.Equal(expected.Values, actual.Values);
        Assert.Equal(State(uninterrupted), State(resumed));
    }

    [Fact]
    public void ImportState_DuringWarmUp_KeepsTheCollectedNorms()
    {
        var first = new GradientClipper(new ZClipRule(warmupSteps: 3, threshold: 2.5, alpha: 0.5));
        Step(first, 1);
        Step(first, 2);

        var resumed = new GradientClipper(new ZClipRule(warmupSteps: 3, threshold: 2.5, alpha: 0.5));
        resumed.ImportState(first.ExportState());
        Step(resumed, 3);

        Assert.Equal((WarmMean, WarmVariance, 3L), State(resumed), new StateTolerance());
    }

    [Fact]
    public void ImportState_OtherWarmUpLength_ThrowsNamingTheShapes()
    {
        var state = new ZClipRule(warmupSteps: 3).ExportState();

        var error = Assert.Throws<ArgumentException>(() => new ZClipRule(warmupSteps: 4).ImportState(state));

        Assert.Contains("warmup buffer of 4 norms", error.Message);
    }

    private sealed class StateTolerance : IEqualityComparer<(double, double, long)>
    {
        public bool Equals((double, double, long) x, (double, double, long) y) =>
            Math.Abs(x.Item1 - y.Item1) < 1e-6 && Math.Abs(x.Item2 - y.Item2) < 1e-6 && x.Item3 == y.Item3;

        public int GetHashCode((double, double, long) obj) => 0;
    }
}
