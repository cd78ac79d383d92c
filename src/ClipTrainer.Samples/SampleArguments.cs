using System.Globalization;

namespace ClipTrainer.Samples;

/// <summary>
/// The command line of one sample, parsed in one place so every sample reads it alike: <c>--out DIR</c> (write the
/// history, charts and event files there), <c>--verbose</c> (print the step logs), and the whole-number options a
/// sample declares (<c>--epochs N</c>, <c>--batches N</c>, <c>--rounds N</c>, <c>--steps N</c>, <c>--rows N</c>).
/// </summary>
internal sealed class SampleArguments
{
    public const string Out = "--out";
    public const string Verbose = "--verbose";
    public const string Epochs = "--epochs";
    public const string Batches = "--batches";
    public const string Rounds = "--rounds";
    public const string Steps = "--steps";
    public const string Rows = "--rows";

    public const string Task = "--task";
    public const string Length = "--length";
    public const string Seeds = "--seeds";

    private readonly Dictionary<string, int> _numbers;
    private readonly Dictionary<string, string> _texts;

    private SampleArguments(string? outputDirectory, bool verbose, Dictionary<string, int> numbers, Dictionary<string, string> texts)
    {
        OutputDirectory = outputDirectory;
        IsVerbose = verbose;
        _numbers = numbers;
        _texts = texts;
    }

    /// <summary>Gets the folder of <c>--out DIR</c> as a full path, or null without it.</summary>
    public string? OutputDirectory { get; }

    /// <summary>Gets whether <c>--verbose</c> was given.</summary>
    public bool IsVerbose { get; }

    /// <summary>
    /// Parses <paramref name="args"/> for the sample <paramref name="sample"/>.
    /// </summary>
    /// <param name="sample">The sample's name, for messages.</param>
    /// <param name="args">The arguments after the sample's name.</param>
    /// <param name="numberOptions">The whole-number options the sample accepts besides <c>--out</c> and <c>--verbose</c>.</param>
    /// <exception cref="SampleArgumentException">An argument is unknown, or its value is missing or not valid.</exception>
    public static SampleArguments Parse(string sample, IReadOnlyList<string> args, params string[] numberOptions) =>
        Parse(sample, args, acceptsOut: true, [], numberOptions);

    /// <summary>Parses the arguments of a sample that also takes options with a word as value (<c>--task adding</c>).</summary>
    /// <param name="sample">The sample's name, for messages.</param>
    /// <param name="args">The arguments after the sample's name.</param>
    /// <param name="textOptions">The options whose value is a word.</param>
    /// <param name="numberOptions">The whole-number options.</param>
    /// <exception cref="SampleArgumentException">An argument is unknown, or its value is missing or not valid.</exception>
    public static SampleArguments ParseWithText(string sample, IReadOnlyList<string> args, string[] textOptions, params string[] numberOptions) =>
        Parse(sample, args, acceptsOut: true, textOptions, numberOptions);

    /// <summary>Parses the arguments of a sample that writes no files (a benchmark): <c>--out</c> is refused.</summary>
    /// <param name="sample">The sample's name, for messages.</param>
    /// <param name="args">The arguments after the sample's name.</param>
    /// <param name="numberOptions">The whole-number options the sample accepts besides <c>--verbose</c>.</param>
    /// <exception cref="SampleArgumentException">An argument is unknown, or its value is missing or not valid.</exception>
    public static SampleArguments ParseWithoutOutput(string sample, IReadOnlyList<string> args, params string[] numberOptions) =>
        Parse(sample, args, acceptsOut: false, [], numberOptions);

    /// <summary>Gets the value of a whole-number option, or <paramref name="fallback"/> when it was not given.</summary>
    /// <param name="option">The option, one of those passed to <see cref="Parse"/>.</param>
    /// <param name="fallback">The sample's default.</param>
    public int Number(string option, int fallback) => _numbers.TryGetValue(option, out var value) ? value : fallback;

    /// <summary>Gets the value of a word option, or <paramref name="fallback"/> when it was not given.</summary>
    /// <param name="option">The option, one of the text options passed to <see cref="ParseWithText"/>.</param>
    /// <param name="fallback">The sample's default.</param>
    public string Text(string option, string fallback) => _texts.TryGetValue(option, out var value) ? value : fallback;

    /// <summary>The arguments to hand on to a sample run from <c>all</c>: <c>--verbose</c>, and <c>--out DIR/sample</c>.</summary>
    /// <param name="sample">The sample that will run.</param>
    public string[] ForSample(string sample)
    {
        var forwarded = new List<string>();
        if (OutputDirectory is not null) forwarded.AddRange([Out, Path.Combine(OutputDirectory, sample)]);
        if (IsVerbose) forwarded.Add(Verbose);
        return [.. forwarded];
    }

    private static SampleArguments Parse(string sample, IReadOnlyList<string> args, bool acceptsOut, string[] textOptions, string[] numberOptions)
    {
        string? output = null;
        bool verbose = false;
        var numbers = new Dictionary<string, int>(StringComparer.Ordinal);
        var texts = new Dictionary<string, string>(StringComparer.Ordinal);
        string Usage() => string.Join(" ", (acceptsOut ? new[] { $"[{Out} DIR]" } : [])
            .Append($"[{Verbose}]").Concat(textOptions.Select(o => $"[{o} NAME]")).Concat(numberOptions.Select(o => $"[{o} N]")));

        for (int i = 0; i < args.Count; i++)
        {
            var argument = args[i];
            if (argument == Verbose)
            {
                verbose = true;
            }
            else if (argument == Out && acceptsOut)
            {
                var value = ValueAfter(sample, args, i++, "a folder to write the outputs into", $"{Out} ./outputs");
                if (value.StartsWith('-'))
                    throw new SampleArgumentException($"{sample}: {Out} needs a folder, got '{value}', which looks like an option. Fix: {Out} ./outputs.");
                output = Path.GetFullPath(value);
            }
            else if (textOptions.Contains(argument))
            {
                var value = ValueAfter(sample, args, i++, "a name", $"{argument} NAME");
                if (value.StartsWith('-'))
                    throw new SampleArgumentException($"{sample}: {argument} needs a name, got '{value}', which looks like an option.");
                texts[argument] = value;
            }
            else if (numberOptions.Contains(argument))
            {
                var value = ValueAfter(sample, args, i++, "a whole number of at least 1", $"{argument} 2");
                if (!int.TryParse(value, NumberStyles.None, CultureInfo.InvariantCulture, out var number) || number < 1)
                    throw new SampleArgumentException(
                        $"{sample}: {argument} needs a whole number of at least 1, got '{value}'. Fix: e.g. {argument} 2.");
                numbers[argument] = number;
            }
            else
            {
                throw new SampleArgumentException($"{sample}: unknown argument '{argument}'. Fix: use {Usage()}.");
            }
        }

        return new SampleArguments(output, verbose, numbers, texts);
    }

    private static string ValueAfter(string sample, IReadOnlyList<string> args, int at, string what, string example) =>
        at + 1 < args.Count
            ? args[at + 1]
            : throw new SampleArgumentException($"{sample}: {args[at]} needs {what} after it, got nothing. Fix: e.g. {example}.");
}
