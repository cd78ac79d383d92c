using ClipTrainer.Experiments;
using Xunit;

namespace ClipTrainer.Tests.Experiments;

public class StudentIntervalTests
{
    [Theory]
    [InlineData(1, 12.7062)]
    [InlineData(4, 2.7764)]
    [InlineData(30, 2.0423)]
    [InlineData(60, 2.0003)] // t tables: 2.000 at 60, 1.984 at 100
    [InlineData(100, 1.9840)]
    public void Quantile975_MatchesTheTable(int degreesOfFreedom, double expected) =>
        Assert.Equal(expected, StudentInterval.Quantile975(degreesOfFreedom), 3);

    [Fact]
    public void Of_FiveValues_GivesTheHandComputedInterval()
    {
        // 1…5: mean 3, s = √(10/4) = 1.58114, half-width t(0.975, 4)·s/√5 = 2.7764 · 0.707107 = 1.96322.
        var (count, mean, sd, half) = StudentInterval.Of([1, 2, 3, 4, 5]);

        Assert.Equal(5, count);
        Assert.Equal(3, mean, 12);
        Assert.Equal(Math.Sqrt(2.5), sd, 12);
        Assert.Equal(1.96322, half, 4);
    }

    [Fact]
    public void Of_LeavesOutNonFiniteValues_AndHasNoIntervalForOneValue()
    {
        var (count, mean, sd, half) = StudentInterval.Of([0.5, double.NaN, double.PositiveInfinity]);

        Assert.Equal(1, count);
        Assert.Equal(0.5, mean);
        Assert.True(double.IsNaN(sd));
        Assert.True(double.IsNaN(half));
    }
}
