using Spectre.Console;

namespace ClipTrainer.Samples;

/// <summary>
/// Where the samples print. Lines go through Spectre.Console, so that a line printed while a progress bar is live lands
/// above the bar instead of through it; with stdout redirected (CI, <c>| tee</c>) they are plain lines.
/// </summary>
internal static class SampleConsole
{
    /// <summary>Prints one line as it is (no markup).</summary>
    /// <param name="text">The line.</param>
    public static void Line(string text = "") => AnsiConsole.Console.WriteLine(text);

    /// <summary>Prints a line only with <c>--verbose</c>.</summary>
    /// <param name="arguments">The sample's arguments.</param>
    /// <param name="text">The line.</param>
    public static void Verbose(SampleArguments arguments, string text)
    {
        if (arguments.IsVerbose) Line(text);
    }
}
