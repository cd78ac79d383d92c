using System.Globalization;

namespace ClipTrainer.Modeling;

/// <summary>
/// The built-in recurrent model as a registered factory: its <see cref="SequenceModelOptions"/> (without the sizes,
/// which the request carries) as the string options an archive stores, and back.
/// </summary>
internal static class RecurrentModuleOptions
{
    public static Dictionary<string, string> ToDictionary(SequenceModelOptions options)
    {
        var dictionary = new Dictionary<string, string>(StringComparer.Ordinal)
        {
            [nameof(SequenceModelOptions.CellType)] = options.CellType.ToString(),
            [nameof(SequenceModelOptions.HiddenSize)] = options.HiddenSize.ToString(CultureInfo.InvariantCulture),
            [nameof(SequenceModelOptions.NumberOfLayers)] = options.NumberOfLayers.ToString(CultureInfo.InvariantCulture),
            [nameof(SequenceModelOptions.Bidirectional)] = options.Bidirectional.ToString(CultureInfo.InvariantCulture),
            [nameof(SequenceModelOptions.Dropout)] = options.Dropout.ToString("R", CultureInfo.InvariantCulture),
            [nameof(SequenceModelOptions.Pooling)] = options.Pooling.ToString(),
        };

        // Only when set: archives written before the option existed, and models without it, keep the same options.
        if (options.ChronoInitializationLength is { } length)
            dictionary[nameof(SequenceModelOptions.ChronoInitializationLength)] = length.ToString(CultureInfo.InvariantCulture);
        return dictionary;
    }

    /// <exception cref="FormatException">An option is missing or does not parse.</exception>
    public static SequenceModelOptions FromRequest(SequenceModuleRequest request) => new()
    {
        InputSize = request.InputSize,
        OutputSize = request.OutputSize,
        CellType = Enum.Parse<RecurrentCellType>(Read(request, nameof(SequenceModelOptions.CellType))),
        HiddenSize = int.Parse(Read(request, nameof(SequenceModelOptions.HiddenSize)), CultureInfo.InvariantCulture),
        NumberOfLayers = int.Parse(Read(request, nameof(SequenceModelOptions.NumberOfLayers)), CultureInfo.InvariantCulture),
        Bidirectional = bool.Parse(Read(request, nameof(SequenceModelOptions.Bidirectional))),
        Dropout = double.Parse(Read(request, nameof(SequenceModelOptions.Dropout)), CultureInfo.InvariantCulture),
        Pooling = Enum.Parse<SequencePooling>(Read(request, nameof(SequenceModelOptions.Pooling))),
        ChronoInitializationLength = request.Options.TryGetValue(nameof(SequenceModelOptions.ChronoInitializationLength), out var chrono)
            ? int.Parse(chrono, CultureInfo.InvariantCulture)
            : null,
    };

    /// <summary>The registered factory: the weights depend only on the options and the seed (see <see cref="SequenceModel.Create"/>).</summary>
    public static SequenceModel Create(SequenceModuleRequest request) => SequenceModel.Create(FromRequest(request), request.Seed);

    private static string Read(SequenceModuleRequest request, string name) =>
        request.Options.TryGetValue(name, out var value)
            ? value
            : throw new FormatException($"The options of the {SequenceModuleRegistry.RecurrentModuleName} module lack '{name}'.");
}
