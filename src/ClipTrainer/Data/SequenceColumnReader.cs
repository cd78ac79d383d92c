using Microsoft.ML;

namespace ClipTrainer.Data;

/// <summary>
/// Reads a sequence feature column and a label column of an <see cref="IDataView"/> into a <see cref="SequenceDataset"/>.
/// </summary>
/// <remarks>
/// One pass over the data with a <see cref="SequenceRowReader"/> on the two columns. Rows whose label is missing (key
/// value 0 for multiclass, NaN for regression) are left out and counted in <see cref="SequenceDataset.SkippedRowCount"/>.
/// Sparse vectors are densified. Class indices are key values − 1.
/// </remarks>
internal static class SequenceColumnReader
{
    /// <summary>
    /// Checks both columns against <paramref name="data"/>'s schema, then reads every row.
    /// </summary>
    /// <param name="data">The data to read.</param>
    /// <param name="features">The feature column, as <see cref="SequenceSchemaChecks.CheckFeatureColumn(DataViewSchema, string, int, int?)"/> accepted it.</param>
    /// <param name="label">The label column, as <see cref="SequenceSchemaChecks.CheckLabelColumn(DataViewSchema, string, SequenceTask)"/> accepted it.</param>
    /// <returns>The rows with a label, in the data's order.</returns>
    /// <exception cref="ArgumentNullException">An argument is <see langword="null"/>.</exception>
    /// <exception cref="ArgumentOutOfRangeException">A column is missing from <paramref name="data"/>'s schema or has
    /// the wrong type (see <see cref="SequenceSchemaChecks"/>).</exception>
    /// <exception cref="InvalidOperationException">A row's feature vector does not hold a positive multiple of
    /// <c>InputSize</c> values (the message names the column, the 0-based row index and the length), or a key value
    /// exceeds the key type's count.</exception>
    public static SequenceDataset Read(IDataView data, SequenceFeatureColumnInfo features, SequenceLabelColumnInfo label)
    {
        ArgumentNullException.ThrowIfNull(data);
        ArgumentNullException.ThrowIfNull(features);
        ArgumentNullException.ThrowIfNull(label);

        using var rows = new SequenceRowReader(data, features, label);
        var rowCount = data.GetRowCount() is long count && count <= int.MaxValue ? (int)count : 0;
        var builder = new SequenceDatasetBuilder(features.InputSize, label.Kind, rows.Label.NumberOfClasses, rowCount);
        while (rows.MoveNext())
        {
            if (rows.IsMissing) builder.SkipRow();
            else if (label.Kind == SequenceTask.MulticlassClassification) builder.AddClassIndex(rows.Features, rows.ClassIndex);
            else builder.AddTarget(rows.Features, rows.Target);
        }

        return builder.Build();
    }
}
