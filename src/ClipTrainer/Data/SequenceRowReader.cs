using System.Globalization;
using Microsoft.ML;
using Microsoft.ML.Data;

namespace ClipTrainer.Data;

/// <summary>
/// A cursor over an <see cref="IDataView"/>'s sequence feature column and label column that checks every row as it
/// reads it: the one row reader of the in-memory <see cref="SequenceColumnReader"/> and the streaming
/// <see cref="DataViewBatchSource"/>, so both reject the same rows with the same messages.
/// </summary>
/// <remarks>
/// A row whose label is missing (key value 0 for multiclass, NaN for regression) is reported by <see cref="IsMissing"/>
/// and its features are not read. Sparse vectors are densified. Class indices are key values − 1.
/// </remarks>
internal sealed class SequenceRowReader : IDisposable
{
    private readonly DataViewRowCursor _cursor;
    private readonly SequenceFeatureColumnInfo? _features;
    private readonly SequenceLabelColumnInfo _label;
    private readonly ValueGetter<VBuffer<float>>? _getFeatures;
    private readonly Func<(bool Missing, long ClassIndex, float Target)> _readLabel;
    private readonly string _messagePrefix;
    private VBuffer<float> _buffer;
    private float[] _dense = [];
    private int _length;

    /// <summary>Checks both columns against <paramref name="data"/>'s schema and opens a cursor on them.</summary>
    /// <param name="data">The data to read.</param>
    /// <param name="features">The feature column, or null to read the labels only (a counting pass).</param>
    /// <param name="label">The label column.</param>
    /// <param name="messagePrefix">Put before every data error's message, e.g. "In the ValidationSet: ".</param>
    /// <exception cref="ArgumentOutOfRangeException">A column is missing or has the wrong type (see <see cref="SequenceSchemaChecks"/>).</exception>
    public SequenceRowReader(IDataView data, SequenceFeatureColumnInfo? features, SequenceLabelColumnInfo label, string messagePrefix = "")
    {
        // Re-check against this data: the descriptions may come from another schema (a validation set, say).
        _features = features is null ? null : SequenceSchemaChecks.CheckFeatureColumn(data.Schema, features.Name, features.InputSize, features.SequenceLength);
        _label = SequenceSchemaChecks.CheckLabelColumn(data.Schema, label.Name, label.Kind);
        _messagePrefix = messagePrefix;
        var labelColumn = data.Schema[_label.Name];
        if (_features is null)
        {
            _cursor = data.GetRowCursor([labelColumn]);
        }
        else
        {
            var featureColumn = data.Schema[_features.Name];
            _cursor = data.GetRowCursor([featureColumn, labelColumn]);
            _getFeatures = _cursor.GetGetter<VBuffer<float>>(featureColumn);
        }
        _readLabel = CreateLabelReader(_cursor, labelColumn, _label);
    }

    /// <summary>Gets the label column as checked against this data's schema.</summary>
    public SequenceLabelColumnInfo Label => _label;

    /// <summary>Gets the 0-based position of the current row in the data.</summary>
    public long Position => _cursor.Position;

    /// <summary>Gets whether the current row's label is missing (its features were not read).</summary>
    public bool IsMissing { get; private set; }

    /// <summary>Gets the current row's class index (multiclass).</summary>
    public long ClassIndex { get; private set; }

    /// <summary>Gets the current row's target (binary 0/1, regression value).</summary>
    public float Target { get; private set; }

    /// <summary>Gets the current row's features, checked; valid until the next <see cref="MoveNext"/>. Empty in a label-only pass.</summary>
    public ReadOnlySpan<float> Features => _dense.AsSpan(0, _length);

    /// <summary>Moves to the next row and reads and checks it.</summary>
    /// <returns>False at the end of the data.</returns>
    /// <exception cref="InvalidOperationException">The row's feature vector does not hold a positive multiple of
    /// <c>InputSize</c> values, holds a NaN or infinite value, its label is infinite, or a key value exceeds the key type's
    /// count (the message names the column and the 0-based row).</exception>
    public bool MoveNext()
    {
        if (!_cursor.MoveNext()) return false;
        var (missing, classIndex, target) = _readLabel();
        (IsMissing, ClassIndex, Target, _length) = (missing, classIndex, target, 0);
        if (missing) return true;
        if (_features is not null) ReadFeatures(_features);
        if (float.IsInfinity(target))
            throw Error(string.Create(CultureInfo.InvariantCulture,
                $"Row {_cursor.Position} of label column '{_label.Name}' holds {target}; labels must be finite (NaN marks a missing label and skips the row)."));
        return true;
    }

    private void ReadFeatures(SequenceFeatureColumnInfo features)
    {
        _getFeatures!(ref _buffer);
        var length = _buffer.Length;
        if (!SequenceShapeArguments.FitsInputSize(length, features.InputSize))
            throw Error(SequenceShapeArguments.RowLengthMessage($"Row {_cursor.Position} of feature column '{features.Name}'", length, features.InputSize));
        if (_dense.Length < length) _dense = new float[length];
        var values = _dense.AsSpan(0, length);
        _buffer.CopyTo(values);
        // A NaN or infinite feature would surface as non-finite gradients far from its cause: name it here.
        int bad = IndexOfNonFinite(values);
        if (bad >= 0)
            throw Error(string.Create(CultureInfo.InvariantCulture,
                $"Row {_cursor.Position} of feature column '{features.Name}' holds {values[bad]} at index {bad} (time step "
                + $"{bad / features.InputSize}, feature {bad % features.InputSize}); features must be finite. Replace missing values "
                + $"first (e.g. mlContext.Transforms.ReplaceMissingValues)."));
        _length = length;
    }

    private InvalidOperationException Error(string message) => new(_messagePrefix + message);

    /// <summary>Closes the cursor.</summary>
    public void Dispose() => _cursor.Dispose();

    private Func<(bool Missing, long ClassIndex, float Target)> CreateLabelReader(
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
                        throw Error(string.Create(CultureInfo.InvariantCulture,
                            $"Row {cursor.Position} of label column '{label.Name}' holds key value {key}, beyond the key type's count {label.NumberOfClasses}."));
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
        if (rawType == typeof(uint)) return Read<uint>(cursor, column, value => value);
        if (rawType == typeof(ushort)) return Read<ushort>(cursor, column, value => value);
        if (rawType == typeof(byte)) return Read<byte>(cursor, column, value => value);
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
