using System.Globalization;
using Microsoft.ML;
using Microsoft.ML.Data;

namespace ClipTrainer.Data;

/// <summary>
/// Reads a sequence feature column and a label column of an <see cref="IDataView"/> into a <see cref="SequenceDataset"/>.
/// </summary>
/// <remarks>
/// One pass over the data with a cursor on the two columns. Rows whose label is missing (key value 0 for multiclass,
/// NaN for regression) are left out and counted in <see cref="SequenceDataset.SkippedRowCount"/>. Sparse vectors are
/// densified. Class indices are key values − 1.
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

        // Re-check against this data: the descriptions may come from another schema (a validation set, say).
        var featureInfo = SequenceSchemaChecks.CheckFeatureColumn(data.Schema, features.Name, features.InputSize, features.SequenceLength);
        var labelInfo = SequenceSchemaChecks.CheckLabelColumn(data.Schema, label.Name, label.Kind);
        var featureColumn = data.Schema[featureInfo.Name];
        var labelColumn = data.Schema[labelInfo.Name];

        var builder = new SequenceDatasetBuilder(featureInfo.InputSize, labelInfo.Kind, labelInfo.NumberOfClasses);
        using var cursor = data.GetRowCursor(new[] { featureColumn, labelColumn });
        var getFeatures = cursor.GetGetter<VBuffer<float>>(featureColumn);
        var readLabel = CreateLabelReader(cursor, labelColumn, labelInfo);
        var buffer = default(VBuffer<float>);
        var dense = Array.Empty<float>();

        while (cursor.MoveNext())
        {
            var (missing, classIndex, target) = readLabel();
            if (missing)
            {
                builder.SkipRow();
                continue;
            }

            getFeatures(ref buffer);
            var length = buffer.Length;
            if (SequenceShapeArguments.RowLengthError($"Row {cursor.Position} of feature column '{featureInfo.Name}'", length, featureInfo.InputSize) is { } error)
            {
                throw new InvalidOperationException(error);
            }

            if (dense.Length < length)
            {
                dense = new float[length];
            }

            var values = dense.AsSpan(0, length);
            buffer.CopyTo(values);
            // A NaN or infinite feature would surface as non-finite gradients far from its cause: name it here.
            int bad = IndexOfNonFinite(values);
            if (bad >= 0)
            {
                float badValue = values[bad];
                throw new InvalidOperationException(string.Create(CultureInfo.InvariantCulture,
                    $"Row {cursor.Position} of feature column '{featureInfo.Name}' holds {badValue} at index {bad} (time step "
                    + $"{bad / featureInfo.InputSize}, feature {bad % featureInfo.InputSize}); features must be finite. Replace missing values "
                    + $"first (e.g. mlContext.Transforms.ReplaceMissingValues)."));
            }

            if (float.IsInfinity(target))
            {
                throw new InvalidOperationException(string.Create(CultureInfo.InvariantCulture,
                    $"Row {cursor.Position} of label column '{labelInfo.Name}' holds {target}; labels must be finite (NaN marks a missing label and skips the row)."));
            }
            if (labelInfo.Kind == SequenceTask.MulticlassClassification)
            {
                builder.AddClassIndex(values, classIndex);
            }
            else
            {
                builder.AddTarget(values, target);
            }
        }

        return builder.Build();
    }

    private static Func<(bool Missing, long ClassIndex, float Target)> CreateLabelReader(
        DataViewRowCursor cursor, DataViewSchema.Column column, SequenceLabelColumnInfo label)
    {
        switch (label.Kind)
        {
            case SequenceTask.MulticlassClassification:
                var readKey = CreateKeyReader(cursor, column);
                return () =>
                {
                    var key = readKey();
                    if (key > (ulong)label.NumberOfClasses)
                    {
                        throw new InvalidOperationException(string.Create(CultureInfo.InvariantCulture,
                            $"Row {cursor.Position} of label column '{label.Name}' holds key value {key}, beyond the key type's count {label.NumberOfClasses}."));
                    }

                    return (key == 0, (long)key - 1, 0f);
                };

            case SequenceTask.BinaryClassification:
                var getBoolean = cursor.GetGetter<bool>(column);
                return () =>
                {
                    var value = false;
                    getBoolean(ref value);
                    return (false, 0, value ? 1f : 0f);
                };

            default:
                var getSingle = cursor.GetGetter<float>(column);
                return () =>
                {
                    var value = 0f;
                    getSingle(ref value);
                    return (float.IsNaN(value), 0, value);
                };
        }
    }

    private static int IndexOfNonFinite(ReadOnlySpan<float> values)
    {
        for (int i = 0; i < values.Length; i++)
        {
            if (!float.IsFinite(values[i])) return i;
        }

        return -1;
    }

    private static Func<ulong> CreateKeyReader(DataViewRowCursor cursor, DataViewSchema.Column column)
    {
        var rawType = ((KeyDataViewType)column.Type).RawType;
        if (rawType == typeof(uint))
        {
            return Read<uint>(cursor, column, value => value);
        }

        if (rawType == typeof(ushort))
        {
            return Read<ushort>(cursor, column, value => value);
        }

        if (rawType == typeof(byte))
        {
            return Read<byte>(cursor, column, value => value);
        }

        return Read<ulong>(cursor, column, value => value);
    }

    private static Func<ulong> Read<T>(DataViewRowCursor cursor, DataViewSchema.Column column, Func<T, ulong> widen)
        where T : struct
    {
        var getter = cursor.GetGetter<T>(column);
        return () =>
        {
            var value = default(T);
            getter(ref value);
            return widen(value);
        };
    }
}
