using System.Text.Json;
using ClipTrainer.Samples;
using SkiaSharp;
using Xunit;

namespace ClipTrainer.Tests.Samples;

/// <summary>The <c>--out DIR</c> contract on tiny runs of the samples themselves.</summary>
[Collection(TorchSharpTrainingCollection.Name)]
public sealed class SampleOutputTests : IDisposable
{
    private readonly string _folder = Path.Combine(Path.GetTempPath(), "cliptrainer-samples-" + Guid.NewGuid().ToString("N"));

    public void Dispose()
    {
        if (Directory.Exists(_folder)) Directory.Delete(_folder, recursive: true);
    }

    private static void AssertRunFolder(string folder, int steps, int epochs)
    {
        var csv = File.ReadAllLines(Path.Combine(folder, "history.csv"));
        Assert.StartsWith("epoch,step,step_in_epoch,loss,pre_clip_norm,post_clip_norm", csv[0]);
        Assert.Equal(steps, csv.Length - 1);
        Assert.Equal(epochs, File.ReadAllLines(Path.Combine(folder, "epochs.csv")).Length - 1);

        using var json = JsonDocument.Parse(File.ReadAllText(Path.Combine(folder, "history.json")));
        Assert.Equal(steps, json.RootElement.GetProperty("steps").GetArrayLength());
        Assert.Equal(epochs, json.RootElement.GetProperty("epochs").GetArrayLength());

        // TensorBoard event files under tensorboard/: TFRecord framing starts with the first record's length.
        var events = Assert.Single(Directory.GetFiles(Path.Combine(folder, "tensorboard"), "events.out.tfevents.*"));
        Assert.True(new FileInfo(events).Length > 100, $"{events} is nearly empty");

        using var chart = SKBitmap.Decode(Path.Combine(folder, TrainingChart.FileName));
        Assert.NotNull(chart);
        Assert.Equal(TrainingChart.Width, chart.Width);
        Assert.Equal(3 * TrainingChart.PanelHeight, chart.Height);
    }

    [Fact]
    public void SeedSimpleRnn_WithOut_WritesHistoryAndChart_InAFolderPerMode()
    {
        var result = SeedSimpleRnnComparison.Run(["--epochs", "2", "--batches", "3", "--out", _folder]);

        Assert.Equal(_folder, result.Outputs);
        var modes = Directory.GetDirectories(_folder).Select(d => Path.GetFileName(d)!).Order().ToArray();
        Assert.Equal(["GlobalNorm", "GlobalThenLocal", "LocalNorm", "None", "Value"], modes);
        foreach (var mode in modes) AssertRunFolder(Path.Combine(_folder, mode), steps: 6, epochs: 2);
    }

    [Fact]
    public void SeedSimpleRnn_GivesEveryModeTheSameBatches()
    {
        SeedSimpleRnnComparison.Run(["--epochs", "1", "--batches", "2", "--out", _folder]);

        // Same weights, same batches: the first step's loss is computed before any clipping acts, so it is equal.
        var firstLosses = Directory.GetDirectories(_folder)
            .Select(d => File.ReadAllLines(Path.Combine(d, "history.csv"))[1].Split(',')[3]).Distinct().ToList();
        Assert.Single(firstLosses);
    }

    [Fact]
    public void Regression_WithOut_WritesHistoryAndChart()
    {
        var result = RegressionSample.Run(["--epochs", "1", "--out", _folder]);

        Assert.Equal(_folder, result.Outputs);
        Assert.StartsWith("R² ", result.HeldOut);
        AssertRunFolder(_folder, steps: 63, epochs: 1); // 2,000 rows in batches of 32
    }

    [Fact]
    public void SeedSimpleRnn_WithoutOut_ReportsNoOutputs()
    {
        var result = SeedSimpleRnnComparison.Run(["--epochs", "1", "--batches", "1"]);

        Assert.Null(result.Outputs);
    }
}
