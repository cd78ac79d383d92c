using Microsoft.ML;

namespace ClipTrainer.Scoring;

/// <summary>Getter plumbing shared by the scoring cursor and the single-row mapper: input columns pass through, added columns read the current scores.</summary>
internal static class ScoredColumns
{
    public static ValueGetter<T> GetGetter<T>(DataViewSchema.Column column, ScoredLayout layout, DataViewRow input,
        OutputColumns outputs, Func<ArraySegment<float>> current)
    {
        if (layout.IsInput(column.Index, out int inputIndex))
            return input.GetGetter<T>(layout.Input[inputIndex]);
        var getter = outputs.MakeGetter(layout.AddedIndex(column.Index), current);
        return getter as ValueGetter<T> ?? throw new InvalidOperationException(
            $"Invalid TValue in GetGetter: column '{column.Name}' is of type {column.Type}, not {typeof(T).Name}.");
    }

    /// <summary>The input columns that <paramref name="needed"/> pass through.</summary>
    public static IEnumerable<DataViewSchema.Column> PassedThrough(IEnumerable<DataViewSchema.Column> needed, ScoredLayout layout)
    {
        foreach (var column in needed)
            if (layout.IsInput(column.Index, out int inputIndex)) yield return layout.Input[inputIndex];
    }

    /// <summary>True when one of <paramref name="needed"/> is an added column, so rows must be scored.</summary>
    public static bool NeedsScores(IEnumerable<DataViewSchema.Column> needed, ScoredLayout layout) =>
        needed.Any(c => !layout.IsInput(c.Index, out _));

    /// <summary>The input columns that computing <paramref name="needed"/> reads.</summary>
    public static IEnumerable<DataViewSchema.Column> Dependencies(IEnumerable<DataViewSchema.Column> needed, ScoredLayout layout, string featureColumnName)
    {
        var list = needed.ToList();
        var inputs = PassedThrough(list, layout);
        if (NeedsScores(list, layout))
            inputs = inputs.Append(layout.Input[featureColumnName]);
        return inputs.DistinctBy(c => c.Index).ToList();
    }
}
