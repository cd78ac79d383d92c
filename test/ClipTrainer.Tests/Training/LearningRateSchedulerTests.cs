using ClipTrainer.Training;
using Xunit;

namespace ClipTrainer.Tests.Training;

/// <summary>The learning-rate factor per step, against values worked out by hand from the schedule's definition.</summary>
public class LearningRateSchedulerTests
{
    private static TrainingSettings Settings(LearningRateSchedule schedule, double warmup, double start = 0.1, double final = 0.3) => new()
    {
        Schedule = schedule,
        WarmupFraction = warmup,
        StartLearningRateRatio = start,
        FinalLearningRateRatio = final,
    };

    [Theory]
    [InlineData(0)]
    [InlineData(5)]
    [InlineData(9)]
    public void Factor_Constant_IsOneAtEveryStep(long step)
    {
        Assert.Equal(1.0, LearningRateScheduler.Factor(Settings(LearningRateSchedule.Constant, 0.2), step, 10));
    }

    // 10 steps, warm-up 0.2 → 2 warm-up steps; decay over steps 2..9 (7 intervals) from 1 to 0.3.
    [Theory]
    [InlineData(0, 0.1)]                  // start ratio
    [InlineData(1, 0.55)]                 // 0.1 + 0.9 × 1/2
    [InlineData(2, 1.0)]                  // peak
    [InlineData(5, 0.7)]                  // 0.3 + 0.7 × (1 − 3/7)
    [InlineData(9, 0.3)]                  // final ratio at the last step
    public void Factor_OneCycle_RisesThenFallsLinearly(long step, double expected)
    {
        Assert.Equal(expected, LearningRateScheduler.Factor(Settings(LearningRateSchedule.OneCycle, 0.2), step, 10), 12);
    }

    // 11 steps, no warm-up: half-cosine from 1 at step 0 to 0.3 at step 10.
    [Theory]
    [InlineData(0, 1.0)]
    [InlineData(5, 0.65)]                 // 0.3 + 0.7 × (1 + cos(π/2)) / 2
    [InlineData(10, 0.3)]
    public void Factor_CosineWithoutWarmUp_FollowsHalfCosine(long step, double expected)
    {
        Assert.Equal(expected, LearningRateScheduler.Factor(Settings(LearningRateSchedule.Cosine, 0), step, 11), 12);
    }

    [Fact]
    public void Factor_CosineAtQuarter_IsAboveTheLinearSchedule()
    {
        // At progress 1/4 the half-cosine is (1 + cos(π/4)) / 2 ≈ 0.8536, the linear one 0.75.
        var cosine = LearningRateScheduler.Factor(Settings(LearningRateSchedule.Cosine, 0, final: 0), 1, 5);
        var linear = LearningRateScheduler.Factor(Settings(LearningRateSchedule.OneCycle, 0, final: 0), 1, 5);

        Assert.Equal((1 + Math.Sqrt(0.5)) / 2, cosine, 12);
        Assert.Equal(0.75, linear, 12);
    }

    [Theory]
    [InlineData(LearningRateSchedule.OneCycle)]
    [InlineData(LearningRateSchedule.Cosine)]
    public void Factor_SingleStepRun_IsOne(LearningRateSchedule schedule)
    {
        Assert.Equal(1.0, LearningRateScheduler.Factor(Settings(schedule, 0.5), 0, 1));
    }

    [Fact]
    public void Factor_OneCycleWithFullWarmUp_RisesLinearlyOverEveryStep()
    {
        var settings = Settings(LearningRateSchedule.OneCycle, 1, start: 0.2);

        var factors = Enumerable.Range(0, 4).Select(s => LearningRateScheduler.Factor(settings, s, 4));

        Assert.Equal([0.2, 0.4, 0.6, 0.8], factors, new DoubleTolerance(1e-12));
    }

    [Fact]
    public void Factor_OneCycle_NeverLeavesTheRangeOfItsRatiosAndOne()
    {
        var settings = Settings(LearningRateSchedule.OneCycle, 0.3, start: 0.05, final: 0.6);

        var factors = Enumerable.Range(0, 57).Select(s => LearningRateScheduler.Factor(settings, s, 57)).ToList();

        Assert.All(factors, f => Assert.InRange(f, 0.05, 1.0));
        Assert.Equal(1.0, factors.Max(), 12);
        Assert.Equal(0.6, factors[^1], 12);
    }
}
