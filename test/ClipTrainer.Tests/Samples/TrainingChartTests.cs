using ClipTrainer.Clipping;
using ClipTrainer.Samples;
using ClipTrainer.Training;
using OxyPlot;
using SkiaSharp;
using Xunit;

namespace ClipTrainer.Tests.Samples;

/// <summary>The samples' PNG chart, decoded and inspected pixel by pixel.</summary>
public sealed class TrainingChartTests : IDisposable
{
    private readonly string _folder = Path.Combine(Path.GetTempPath(), "cliptrainer-chart-" + Guid.NewGuid().ToString("N"));

    public void Dispose()
    {
        if (Directory.Exists(_folder)) Directory.Delete(_folder, recursive: true);
    }

    /// <summary>Two epochs of 40 steps: a falling loss, norms around 1 clipped to 0.8 when above it.</summary>
    private static TrainingHistory History()
    {
        var steps = new List<TrainingStepRecord>();
        for (int i = 1; i <= 80; i++)
        {
            double norm = 0.6 + 0.5 * Math.Abs(Math.Sin(i / 5.0));
            steps.Add(new TrainingStepRecord((i - 1) / 40 + 1, i, (i - 1) % 40 + 1, 2.0 / Math.Sqrt(i), norm, Math.Min(norm, 0.8),
                norm > 0.8, false, 0.01, [Math.Min(1, 0.8 / norm)], []));
        }

        var epochs = Enumerable.Range(1, 2).Select(e =>
        {
            var own = steps.Where(s => s.Epoch == e).ToList();
            return new EpochRecord(e, own.Average(s => s.Loss), null, null, own.Average(s => s.PreClipNorm), own.Max(s => s.PreClipNorm),
                own.Count(s => s.Clipped) / (double)own.Count, 0, own.Count, 0.01, TimeSpan.FromSeconds(1));
        }).ToList();
        return new TrainingHistory(epochs, 2, "Accuracy", stoppedEarly: false, steps, ["GlobalNorm"]);
    }

    private SKBitmap Render(ChartThreshold? threshold)
    {
        var path = Path.Combine(_folder, Guid.NewGuid().ToString("N") + ".png");
        TrainingChart.Write(History(), path, "test run", threshold);
        return SKBitmap.Decode(path) ?? throw new InvalidDataException($"{path} is not a PNG SkiaSharp can decode.");
    }

    private static int CountNear(SKBitmap bitmap, OxyColor color, int tolerance = 40)
    {
        int count = 0;
        for (int y = 0; y < bitmap.Height; y++)
            for (int x = 0; x < bitmap.Width; x++)
            {
                var pixel = bitmap.GetPixel(x, y);
                if (Math.Abs(pixel.Red - color.R) + Math.Abs(pixel.Green - color.G) + Math.Abs(pixel.Blue - color.B) <= tolerance) count++;
            }
        return count;
    }

    [Fact]
    public void Write_ProducesPngOfThreeStackedPanels_WithContent()
    {
        using var bitmap = Render(new ChartThreshold(0.8, "threshold 0.8"));

        Assert.Equal(TrainingChart.Width, bitmap.Width);
        Assert.Equal(3 * TrainingChart.PanelHeight, bitmap.Height);
        var pixels = bitmap.Pixels;
        int drawn = pixels.Count(p => p != SKColors.White);
        Assert.True(drawn > pixels.Length / 100, $"only {drawn} of {pixels.Length} pixels are not background");
        int colours = pixels.Distinct().Count();
        Assert.True(colours > 30, $"only {colours} distinct colours: the series are missing");
    }

    [Fact]
    public void Write_DrawsEverySeries_InItsOwnPanel()
    {
        using var bitmap = Render(new ChartThreshold(0.8, "threshold 0.8"));
        using var loss = new SKBitmap(bitmap.Width, TrainingChart.PanelHeight);
        using var norms = new SKBitmap(bitmap.Width, TrainingChart.PanelHeight);
        using var clipped = new SKBitmap(bitmap.Width, TrainingChart.PanelHeight);
        Assert.True(bitmap.ExtractSubset(loss, SKRectI.Create(0, 0, bitmap.Width, TrainingChart.PanelHeight)));
        Assert.True(bitmap.ExtractSubset(norms, SKRectI.Create(0, TrainingChart.PanelHeight, bitmap.Width, TrainingChart.PanelHeight)));
        Assert.True(bitmap.ExtractSubset(clipped, SKRectI.Create(0, 2 * TrainingChart.PanelHeight, bitmap.Width, TrainingChart.PanelHeight)));

        Assert.True(CountNear(loss, TrainingChart.LossColor) > 100);
        Assert.True(CountNear(norms, TrainingChart.PreClipColor) > 100);
        Assert.True(CountNear(norms, TrainingChart.PostClipColor) > 100);
        Assert.True(CountNear(norms, TrainingChart.ThresholdColor) > 100);
        Assert.True(CountNear(clipped, TrainingChart.ClippedColor) > 1000); // two filled bars
        Assert.True(CountNear(loss, TrainingChart.PreClipColor) < 10, "the norm series leaked into the loss panel");
    }

    [Fact]
    public void Write_DrawsNoThresholdLine_WhenTheRunClipsNoNorm()
    {
        using var without = Render(threshold: null);

        Assert.True(CountNear(without, TrainingChart.ThresholdColor) < 10);
    }

    [Theory]
    [InlineData(ClippingMode.GlobalNorm, true)]
    [InlineData(ClippingMode.GlobalThenLocal, true)]
    [InlineData(ClippingMode.LocalNorm, true)]
    [InlineData(ClippingMode.Value, false)]
    [InlineData(ClippingMode.None, false)]
    public void ChartThresholdFor_DrawsTheNormThreshold_OnlyForNormModes(ClippingMode mode, bool expected)
    {
        var line = ChartThreshold.For(new GradientClippingOptions { Mode = mode, Threshold = 0.7 });

        Assert.Equal(expected, line is not null);
        if (line is not null) Assert.Equal(0.7, line.Value);
    }

    [Fact]
    public void ChartFonts_AreAvailable_ExactlyWhenFontFilesAreInstalled()
    {
        // The SkiaSharp build ML.NET brings on Linux reads fonts from /usr/share/fonts and nowhere else.
        if (!OperatingSystem.IsLinux()) return; // elsewhere SkiaSharp asks the system's font service
        var installed = Directory.Exists("/usr/share/fonts")
            && Directory.EnumerateFiles("/usr/share/fonts", "*.*", SearchOption.AllDirectories)
                .Any(f => f.EndsWith(".ttf", StringComparison.OrdinalIgnoreCase) || f.EndsWith(".otf", StringComparison.OrdinalIgnoreCase));

        Assert.Equal(installed, ChartFonts.AreAvailable);
        Assert.Contains("apt-get install fonts-dejavu-core", ChartFonts.MissingMessage("x.png"));
    }
}
