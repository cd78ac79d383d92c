using ClipTrainer.Experiments;
using OxyPlot;
using OxyPlot.Axes;
using OxyPlot.Legends;
using OxyPlot.Series;
using OxyPlot.SkiaSharp;
using SkiaSharp;

namespace ClipTrainer.Samples;

/// <summary>
/// The overlay PNG of a clipping comparison: two panels, the training loss and the raw gradient's L2 norm (log scale)
/// per step, one line per configuration, each the mean over that configuration's seeds, smoothed by a running mean of
/// 1 % of the steps (raw per-step curves of ten configurations are unreadable). Drawn like <see cref="TrainingChart"/>.
/// </summary>
internal static class ComparisonChart
{
    public const string FileName = "comparison.png";

    private const int Width = 1000;
    private const int PanelHeight = 380;

    /// <summary>The line colours, one per configuration in order (Tableau 10, then repeated dashed).</summary>
    public static readonly OxyColor[] Palette =
    [
        OxyColor.FromRgb(0x1f, 0x77, 0xb4), OxyColor.FromRgb(0xff, 0x7f, 0x0e), OxyColor.FromRgb(0x2c, 0xa0, 0x2c),
        OxyColor.FromRgb(0xd6, 0x27, 0x28), OxyColor.FromRgb(0x94, 0x67, 0xbd), OxyColor.FromRgb(0x8c, 0x56, 0x4b),
        OxyColor.FromRgb(0xe3, 0x77, 0xc2), OxyColor.FromRgb(0x7f, 0x7f, 0x7f), OxyColor.FromRgb(0xbc, 0xbd, 0x22),
        OxyColor.FromRgb(0x17, 0xbe, 0xcf),
    ];

    /// <summary>Writes the overlay of <paramref name="result"/> to <paramref name="path"/> (replacing it).</summary>
    public static void Write(ClippingComparisonResult result, string path, string title)
    {
        var loss = Panel($"{title}: training loss per step (mean over seeds, running mean)", "loss", logarithmic: false);
        var norm = Panel("raw gradient L2 norm per step, before clipping (log scale)", "‖g‖₂", logarithmic: true);
        for (int i = 0; i < result.Rows.Count; i++)
        {
            var name = result.Rows[i].ConfigurationName;
            var runs = result.Runs.Where(r => r.ConfigurationName == name && r.History is not null).ToArray();
            var color = Palette[i % Palette.Length];
            var style = i < Palette.Length ? LineStyle.Solid : LineStyle.Dash;
            loss.Series.Add(Line(name, color, style, MeanOverRuns(runs.Select(r => r.History!.Steps.Select(s => s.Loss).ToArray()))));
            norm.Series.Add(Line(name, color, style, MeanOverRuns(runs.Select(r => r.PreClipL2Norms.ToArray())), positiveOnly: true));
        }

        var panels = new[] { loss, norm };
        using var bitmap = new SKBitmap(Width, PanelHeight * panels.Length);
        using (var canvas = new SKCanvas(bitmap))
        using (var context = new SkiaRenderContext { RenderTarget = RenderTarget.PixelGraphic, SkCanvas = canvas, UseTextShaping = ChartFonts.AreAvailable })
        {
            canvas.Clear(SKColors.White);
            for (int i = 0; i < panels.Length; i++)
            {
                IPlotModel panel = panels[i];
                panel.Update(true);
                panel.Render(context, new OxyRect(0, i * PanelHeight, Width, PanelHeight));
            }
        }

        Directory.CreateDirectory(Path.GetDirectoryName(Path.GetFullPath(path))!);
        using var file = File.Create(path);
        using var stream = new SKManagedWStream(file);
        if (!bitmap.Encode(stream, SKEncodedImageFormat.Png, quality: 100))
            throw new IOException($"SkiaSharp could not encode the chart as PNG for {path}.");
    }

    /// <summary>Per step, the mean of the runs' finite values (runs that stopped early contribute up to their last step).</summary>
    internal static double[] MeanOverRuns(IEnumerable<double[]> runs)
    {
        var all = runs.ToArray();
        int steps = all.Length == 0 ? 0 : all.Max(r => r.Length);
        var mean = new double[steps];
        for (int t = 0; t < steps; t++)
        {
            var values = all.Where(r => t < r.Length && double.IsFinite(r[t])).Select(r => r[t]).ToArray();
            mean[t] = values.Length == 0 ? double.NaN : values.Average();
        }

        return mean;
    }

    /// <summary>The running mean over a centred window of 1 % of the steps (at least 1), skipping non-finite values.</summary>
    internal static double[] Smooth(double[] values)
    {
        int half = Math.Max(0, values.Length / 200);
        var smooth = new double[values.Length];
        for (int t = 0; t < values.Length; t++)
        {
            double sum = 0;
            int count = 0;
            for (int u = Math.Max(0, t - half); u <= Math.Min(values.Length - 1, t + half); u++)
            {
                if (!double.IsFinite(values[u])) continue;
                sum += values[u];
                count++;
            }

            smooth[t] = count == 0 ? double.NaN : sum / count;
        }

        return smooth;
    }

    private static LineSeries Line(string title, OxyColor color, LineStyle style, double[] values, bool positiveOnly = false)
    {
        var line = new LineSeries { Title = title, Color = color, LineStyle = style, StrokeThickness = 1.5 };
        var smooth = Smooth(values);
        // OxyPlot leaves a gap at NaN: a diverged stretch shows as a break; a log axis cannot show 0 either.
        line.Points.AddRange(smooth.Select((v, t) => new DataPoint(t + 1, double.IsFinite(v) && (!positiveOnly || v > 0) ? v : double.NaN)));
        return line;
    }

    private static PlotModel Panel(string title, string yTitle, bool logarithmic)
    {
        var model = new PlotModel { Title = title, TitleFontSize = 13, DefaultFont = "DejaVu Sans", Background = OxyColors.White, PlotAreaBorderColor = OxyColors.Gray };
        model.Axes.Add(new LinearAxis { Position = AxisPosition.Bottom, Title = "step", MajorGridlineStyle = LineStyle.Dot });
        Axis values = logarithmic ? new LogarithmicAxis() : new LinearAxis();
        values.Position = AxisPosition.Left;
        values.Title = yTitle;
        values.MajorGridlineStyle = LineStyle.Dot;
        model.Axes.Add(values);
        model.Legends.Add(new Legend { LegendPlacement = LegendPlacement.Outside, LegendPosition = LegendPosition.RightTop, LegendFontSize = 10 });
        return model;
    }
}
