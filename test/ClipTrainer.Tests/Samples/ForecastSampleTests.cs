using ClipTrainer.Samples;
using Xunit;

namespace ClipTrainer.Tests.Samples;

/// <summary>The forecast sample on a one-epoch run: the clipped and the unclipped run each get their output folder.</summary>
[Collection(TorchSharpTrainingCollection.Name)]
public sealed class ForecastSampleTests : IDisposable
{
    private readonly string _folder = Path.Combine(Path.GetTempPath(), "cliptrainer-forecast-" + Guid.NewGuid().ToString("N"));

    public void Dispose()
    {
        if (Directory.Exists(_folder)) Directory.Delete(_folder, recursive: true);
    }

    [Fact]
    public void Run_WritesAFolderPerRun_AndTheUnclippedRunNeverClips()
    {
        var result = ForecastSample.Run(["--epochs", "1", "--out", _folder]);

        Assert.Equal(_folder, result.Outputs);
        Assert.Contains("persistence", result.HeldOut);
        // 468 months → 467 changes → 443 windows of 24; the last 120 are the test: 323 training windows, 21 batches of 16.
        foreach (var run in new[] { "clipped", "unclipped" })
        {
            var csv = File.ReadAllLines(Path.Combine(_folder, run, "history.csv"));
            Assert.Equal(21, csv.Length - 1);
            Assert.True(File.Exists(Path.Combine(_folder, run, TrainingChart.FileName)), $"{run} has no chart");
        }
        var header = File.ReadAllLines(Path.Combine(_folder, "unclipped", "history.csv"))[0].Split(',');
        int clipped = Array.IndexOf(header, "clipped");
        Assert.True(clipped >= 0, $"history.csv has no 'clipped' column: {string.Join(",", header)}");
        Assert.All(File.ReadAllLines(Path.Combine(_folder, "unclipped", "history.csv")).Skip(1),
            line => Assert.Equal("0", line.Split(',')[clipped]));
    }
}
