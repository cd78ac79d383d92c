using ClipTrainer.Data;
using ClipTrainer.Experiments;
using ClipTrainer.Samples;
using ClipTrainer.Training;
using SkiaSharp;
using Xunit;

namespace ClipTrainer.Tests.Samples;

/// <summary>The comparison overlay PNG and the averaging behind its lines.</summary>
public sealed class ComparisonChartTests : IDisposable
{
    private readonly string _folder = Path.Combine(Path.GetTempPath(), "cliptrainer-comparison-chart-" + Guid.NewGuid().ToString("N"));

    public void Dispose()
    {
        if (Directory.Exists(_folder)) Directory.Delete(_folder, recursive: true);
    }

    [Fact]
    public void MeanOverRuns_AveragesFiniteValuesPerStep_OverTheRunsThatReachedIt()
    {
        var mean = ComparisonChart.MeanOverRuns([[1, 2, 3], [3, double.NaN], [5]]);

        Assert.Equal([3, 2, 3], mean);
    }

    [Fact]
    public void Smooth_IsACentredRunningMeanOfOnePercent()
    {
        var values = Enumerable.Range(0, 400).Select(i => i % 2 == 0 ? 0.0 : 2.0).ToArray(); // window 2·(400/200) + 1 = 5

        var smooth = ComparisonChart.Smooth(values);

        Assert.Equal((0 + 2 + 0 + 2 + 0) / 5.0, smooth[10], 12); // centred on an even step
        Assert.Equal((2 + 0 + 2 + 0 + 2) / 5.0, smooth[11], 12);
        Assert.Equal((0 + 2 + 0) / 3.0, smooth[0], 12); // the window is cut at the start
    }

    [Fact]
    public void Write_DrawsOneLinePerConfigurationInItsColour()
    {
        var runs = new[] { Run("first", 1.0), Run("second", 10.0) };
        var result = new ClippingComparisonResult(SequenceTask.Regression, null,
            [new ClippingComparisonRow("first", [runs[0]], false), new ClippingComparisonRow("second", [runs[1]], false)], runs);
        var path = Path.Combine(_folder, ComparisonChart.FileName);

        ComparisonChart.Write(result, path, "test");

        using var bitmap = SKBitmap.Decode(path);
        Assert.Equal(1000, bitmap.Width);
        Assert.Equal(760, bitmap.Height);
        int Count(int colour) => Enumerable.Range(0, bitmap.Width * bitmap.Height).Count(i =>
        {
            var pixel = bitmap.GetPixel(i % bitmap.Width, i / bitmap.Width);
            var expected = ComparisonChart.Palette[colour];
            return pixel.Red == expected.R && pixel.Green == expected.G && pixel.Blue == expected.B;
        });
        Assert.True(Count(0) > 200, "the first configuration's lines are drawn");
        Assert.True(Count(1) > 200, "the second configuration's lines are drawn");
        Assert.Equal(0, Count(2)); // no third configuration
    }

    private static ClippingComparisonRun Run(string name, double scale)
    {
        var steps = Enumerable.Range(1, 100).Select(i => new TrainingStepRecord(1, i, i, scale / i, scale, scale, false, false, 0.01, [1.0], [])).ToArray();
        var history = new TrainingHistory([new EpochRecord(1, 1, null, null, scale, scale, 0, 0, 100, 0.01, TimeSpan.FromSeconds(1))], 1, "RSquared", false, steps);
        return new ClippingComparisonRun { ConfigurationName = name, History = history, PreClipL2Norms = Enumerable.Range(1, 100).Select(i => scale * (1 + i % 7)).ToArray() };
    }
}
