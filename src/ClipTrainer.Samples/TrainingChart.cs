using ClipTrainer.Training;
using OxyPlot;
using OxyPlot.Annotations;
using OxyPlot.Axes;
using OxyPlot.Legends;
using OxyPlot.Series;
using OxyPlot.SkiaSharp;
using SkiaSharp;

namespace ClipTrainer.Samples;

/// <summary>
/// One PNG per training run, three panels stacked: the loss per step; the global gradient norm per step before and
/// after clipping, with the clipping threshold as a horizontal line; the fraction of clipped steps per epoch.
/// Drawn with OxyPlot on SkiaSharp 2.88 (the version ML.NET itself uses), outside the library assembly.
/// </summary>
internal static class TrainingChart
{
    /// <summary>The file name of the chart in a run's output folder.</summary>
    public const string FileName = "training.png";

    public const int Width = 900;
    public const int PanelHeight = 300;

    /// <summary>The colours of the series, so tests can look for them in the picture.</summary>
    public static readonly OxyColor LossColor = OxyColor.FromRgb(0x1f, 0x77, 0xb4);
    public static readonly OxyColor PreClipColor = OxyColor.FromRgb(0xff, 0x7f, 0x0e);
    public static readonly OxyColor PostClipColor = OxyColor.FromRgb(0x2c, 0xa0, 0x2c);
    public static readonly OxyColor ThresholdColor = OxyColor.FromRgb(0xd6, 0x27, 0x28);
    public static readonly OxyColor ClippedColor = OxyColor.FromRgb(0x94, 0x67, 0xbd);

    /// <summary>Writes the chart of <paramref name="history"/> to <paramref name="path"/> (replacing it).</summary>
    /// <param name="history">The run; its per-step records are drawn (a history without steps gives empty step panels).</param>
    /// <param name="path">The PNG file.</param>
    /// <param name="title">The run, e.g. "seed-simple-rnn, GlobalNorm".</param>
    /// <param name="threshold">The norm threshold to draw, or null when the run clips no norm (value clipping, none).</param>
    public static void Write(TrainingHistory history, string path, string title, ChartThreshold? threshold)
    {
        var panels = new[] { LossPanel(history, title), NormPanel(history, threshold), ClippedPanel(history) };
        using var bitmap = new SKBitmap(Width, PanelHeight * panels.Length);
        using (var canvas = new SKCanvas(bitmap))
        // Text shaping (HarfBuzz) needs a font file: with no font installed it throws, so the chart is then drawn
        // unshaped, which draws no text at all (ChartFonts says so on the console).
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

    private static PlotModel LossPanel(TrainingHistory history, string title)
    {
        var model = Panel($"{title}: loss per step", "loss");
        var loss = new LineSeries { Title = "training loss (batch)", Color = LossColor, StrokeThickness = 1 };
        loss.Points.AddRange(history.Steps.Select(s => new DataPoint(s.Step, Finite(s.Loss))));
        model.Series.Add(loss);
        return model;
    }

    private static PlotModel NormPanel(TrainingHistory history, ChartThreshold? threshold)
    {
        // Norms spike by orders of magnitude above the threshold: on a linear axis the threshold line sits on the floor.
        var model = Panel("global gradient norm per step (log scale)", "norm", logarithmic: true);
        var pre = new LineSeries { Title = "before clipping", Color = PreClipColor, StrokeThickness = 1 };
        pre.Points.AddRange(history.Steps.Select(s => new DataPoint(s.Step, Positive(s.PreClipNorm))));
        var post = new LineSeries { Title = "after clipping", Color = PostClipColor, StrokeThickness = 1.5 };
        post.Points.AddRange(history.Steps.Select(s => new DataPoint(s.Step, Positive(s.PostClipNorm))));
        model.Series.Add(pre);
        model.Series.Add(post);

        // Room below the lowest value, so the clipped norms (on the threshold) and the line's label stay in view.
        var lowest = pre.Points.Concat(post.Points).Select(p => p.Y).Where(double.IsFinite)
            .Append(threshold?.Value ?? double.PositiveInfinity).DefaultIfEmpty(double.NaN).Min();
        if (double.IsFinite(lowest) && lowest > 0) model.Axes[1].Minimum = lowest / 2;
        if (threshold is { } line)
        {
            model.Annotations.Add(new LineAnnotation
            {
                Type = LineAnnotationType.Horizontal,
                Y = line.Value,
                Color = ThresholdColor,
                StrokeThickness = 2,
                LineStyle = LineStyle.Dash,
                Text = line.Label,
                TextColor = ThresholdColor,
                TextVerticalAlignment = VerticalAlignment.Top, // below the line, clear of the series above it
                Layer = AnnotationLayer.BelowSeries, // the clipped norms run along it: keep them visible
            });
        }

        return model;
    }

    private static PlotModel ClippedPanel(TrainingHistory history)
    {
        var model = Panel("clipped fraction per epoch", "clipped steps", xTitle: "epoch", yMaximum: 1.05);
        model.Axes[1].StringFormat = "P0";
        int epochs = Math.Max(1, history.Epochs.Count);
        var epochAxis = model.Axes[0];
        (epochAxis.Minimum, epochAxis.Maximum) = (0.5, epochs + 0.5);
        epochAxis.MajorStep = Math.Max(1, Math.Ceiling(epochs / 10.0));
        epochAxis.MinorStep = epochAxis.MajorStep;
        var clipped = new LinearBarSeries { Title = "clipped fraction", FillColor = ClippedColor, BarWidth = Math.Clamp(400.0 / epochs, 4, 40) };
        clipped.Points.AddRange(history.Epochs.Select(e => new DataPoint(e.Epoch, e.ClippedFraction)));
        model.Series.Add(clipped);
        return model;
    }

    private static PlotModel Panel(string title, string yTitle, string xTitle = "step", double? yMaximum = null, bool logarithmic = false)
    {
        var model = new PlotModel
        {
            Title = title,
            TitleFontSize = 13,
            DefaultFont = "DejaVu Sans",
            Background = OxyColors.White,
            PlotAreaBorderColor = OxyColors.Gray,
        };
        model.Axes.Add(new LinearAxis { Position = AxisPosition.Bottom, Title = xTitle, MajorGridlineStyle = LineStyle.Dot });
        Axis values = logarithmic ? new LogarithmicAxis() : new LinearAxis();
        values.Position = AxisPosition.Left;
        values.Title = yTitle;
        values.MajorGridlineStyle = LineStyle.Dot;
        values.Minimum = yMaximum is null ? double.NaN : 0;
        values.Maximum = yMaximum ?? double.NaN;
        model.Axes.Add(values);
        // Above the plot area, in one row: every panel keeps the same width, so the step axes line up.
        model.Legends.Add(new Legend
        {
            LegendPlacement = LegendPlacement.Outside,
            LegendPosition = LegendPosition.TopCenter,
            LegendOrientation = LegendOrientation.Horizontal,
        });
        return model;
    }

    // OxyPlot leaves a gap at an undefined point: a skipped step's NaN or ∞ norm shows as a break, not a spike.
    private static double Finite(double value) => double.IsFinite(value) ? value : double.NaN;

    // A log axis cannot show 0 (a step without gradients): a gap as well.
    private static double Positive(double value) => double.IsFinite(value) && value > 0 ? value : double.NaN;
}
