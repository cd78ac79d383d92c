using Microsoft.ML;

namespace ClipTrainer.Scoring;

/// <summary>Getter plumbing shared by the scoring cursor and the single-row mapper: input columns pass through, added columns read the current scores.</summary>
internal static class ScoredColumns
{
    public static ValueGetter<T> GetGetter<T>(DataViewSchema.Column column, DataViewSchema inputSchema, DataViewRow input,
        OutputColumns outputs, Func<float[]> current)
    {
        if (column.Index < inputSchema.Count)
            return input.GetGetter<T>(inputSchema[column.Index]);
        var getter = outputs.MakeGetter(column.Index - inputSchema.Count, current);
        return getter as ValueGetter<T> ?? throw new InvalidOperationException(
            $"Invalid TValue in GetGetter: column '{column.Name}' is of type {column.Type}, not {typeof(T).Name}.");
    }

    /// <summary>The input columns that computing <paramref name="needed"/> reads.</summary>
    public static IEnumerable<DataViewSchema.Column> Dependencies(IEnumerable<DataViewSchema.Column> needed, DataViewSchema inputSchema, string featureColumnName)
    {
        var list = needed.ToList();
        var inputs = list.Where(c => c.Index < inputSchema.Count).Select(c => inputSchema[c.Index]);
        if (list.Any(c => c.Index >= inputSchema.Count))
            inputs = inputs.Append(inputSchema[featureColumnName]);
        return inputs.DistinctBy(c => c.Index).ToList();
    }
}
