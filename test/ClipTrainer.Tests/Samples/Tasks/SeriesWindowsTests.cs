using ClipTrainer.Samples.Tasks;
using Xunit;

namespace ClipTrainer.Tests.Samples.Tasks;

/// <summary>Sliding windows and the time split, on a hand series.</summary>
public class SeriesWindowsTests
{
    [Fact]
    public void Create_SlidesOneStepAtATime_InputsThenTheNextValue()
    {
        var windows = SeriesWindows.Create([10, 11, 12, 13, 14], length: 2);

        Assert.Equal(3, windows.Count);
        Assert.Equal([10f, 11f], windows[0].Inputs);
        Assert.Equal(12f, windows[0].Label);
        Assert.Equal(2, windows[0].Target);
        Assert.Equal([12f, 13f], windows[2].Inputs);
        Assert.Equal(14f, windows[2].Label);
        Assert.Equal(4, windows[2].Target);
        Assert.Equal(2, windows[2].FirstIndex);
    }

    [Theory]
    [InlineData(0)]
    [InlineData(-1)]
    [InlineData(5)]
    public void Create_Throws_ForALengthThatLeavesNoWindow(int length)
    {
        var exception = Assert.Throws<ArgumentOutOfRangeException>(() => SeriesWindows.Create([1, 2, 3, 4, 5], length));

        Assert.Equal("length", exception.ParamName);
        Assert.Contains($"got {length}", exception.Message);
        Assert.Contains("series length 5", exception.Message);
    }

    [Fact]
    public void SplitByTime_TrainsOnThePast_AndTestsOnTheFuture()
    {
        var windows = SeriesWindows.Create([10, 11, 12, 13, 14, 15], length: 2);

        var (train, test) = SeriesWindows.SplitByTime(windows, firstTestIndex: 4);

        // Targets 2 and 3 read indices 0–3 only; targets 4 and 5 are the future, their inputs reach back to 2.
        Assert.Equal([2, 3], train.Select(w => w.Target));
        Assert.Equal([4, 5], test.Select(w => w.Target));
        Assert.Equal([12f, 13f], test[0].Inputs);
        Assert.All(train, w => Assert.True(w.Target < 4 && w.Inputs.All(v => v < 14f)));
    }
}
