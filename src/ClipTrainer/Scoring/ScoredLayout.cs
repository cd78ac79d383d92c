using Microsoft.ML;

namespace ClipTrainer.Scoring;

/// <summary>
/// Where each column of a scored schema comes from, in ML.NET's order (its <c>ColumnBindingsBase</c>): the input's
/// columns in their order, each added column that hides an input column of the same name right after that column,
/// and the other added columns at the end, in their order. So data scored twice reads
/// [… PredictedLabel (hidden), PredictedLabel, Score (hidden), Score], as with ML.NET's own scorers.
/// </summary>
internal sealed class ScoredLayout
{
    // Per output column: an input column's index (≥ 0), or ~k for added column k.
    private readonly int[] _sources;

    public ScoredLayout(DataViewSchema input, IReadOnlyList<string> addedNames)
    {
        Input = input;
        // GetColumnOrNull finds the visible column of a name, the one an added column hides.
        var hiddenBy = addedNames.Select((name, k) => (Hidden: input.GetColumnOrNull(name)?.Index, Added: k))
            .Where(h => h.Hidden is not null).ToDictionary(h => h.Hidden!.Value, h => h.Added);
        var sources = new List<int>(input.Count + addedNames.Count);
        foreach (var column in input)
        {
            sources.Add(column.Index);
            if (hiddenBy.TryGetValue(column.Index, out int added)) sources.Add(~added);
        }
        for (int k = 0; k < addedNames.Count; k++)
            if (!hiddenBy.ContainsValue(k)) sources.Add(~k);
        _sources = sources.ToArray();
    }

    /// <summary>The schema of the data being scored.</summary>
    public DataViewSchema Input { get; }

    /// <summary>Per output column in order: an input column's index (≥ 0), or ~k for added column k.</summary>
    public IReadOnlyList<int> Sources => _sources;

    /// <summary>True when output column <paramref name="outputIndex"/> passes input column <paramref name="inputIndex"/> through.</summary>
    public bool IsInput(int outputIndex, out int inputIndex)
    {
        inputIndex = _sources[outputIndex];
        return inputIndex >= 0;
    }

    /// <summary>The index among the added columns of output column <paramref name="outputIndex"/>, which must be one.</summary>
    public int AddedIndex(int outputIndex) => ~_sources[outputIndex];
}
