using SkiaSharp;

namespace ClipTrainer.Samples;

/// <summary>
/// Whether SkiaSharp can draw a chart's text. The SkiaSharp build that ML.NET brings (NativeAssets.Linux.NoDependencies)
/// reads fonts from <c>/usr/share/fonts</c> only; with none there it draws every label as nothing and reports no error,
/// so the chart looks fine to the program and blank to a reader.
/// </summary>
internal static class ChartFonts
{
    /// <summary>The command that brings the fonts on Debian and Ubuntu.</summary>
    public const string InstallCommand = "apt-get install fonts-dejavu-core";

    private static readonly Lazy<bool> Usable = new(Measure);
    private static int _warned;

    /// <summary>Gets whether text will show: SkiaSharp knows a font family and a sample text has a width and ink.</summary>
    public static bool AreAvailable => Usable.Value;

    /// <summary>The line to print beside a chart written without fonts.</summary>
    /// <param name="chart">The chart's path.</param>
    public static string MissingMessage(string chart) =>
        $"Note: {chart} was written without any text (axis labels, titles): SkiaSharp found no fonts. " +
        $"Install them with: {InstallCommand}";

    /// <summary>Prints <see cref="MissingMessage"/> once per process when fonts are missing.</summary>
    /// <param name="chart">The chart just written.</param>
    public static void WarnIfMissing(string chart)
    {
        if (!AreAvailable && Interlocked.Exchange(ref _warned, 1) == 0) SampleConsole.Line(MissingMessage(chart));
    }

    private static bool Measure()
    {
        // Two checks: the font manager's family list, and the ink of a measured text in the typeface OxyPlot's default
        // would resolve to (a typeface without glyphs measures as an empty rectangle).
        if (SKFontManager.Default.FontFamilyCount == 0) return false;
        using var typeface = SKTypeface.FromFamilyName("DejaVu Sans") ?? SKTypeface.Default;
        using var paint = new SKPaint { Typeface = typeface, TextSize = 12 };
        var bounds = SKRect.Empty;
        paint.MeasureText("loss 0.5", ref bounds);
        return bounds.Width > 0 && bounds.Height > 0;
    }
}
