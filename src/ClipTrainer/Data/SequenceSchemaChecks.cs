using Microsoft.ML;
using Microsoft.ML.Data;

namespace ClipTrainer.Data;

/// <summary>
/// Checks that a schema holds a usable sequence feature column and label column, with the errors ML.NET's own trainers
/// give: an <see cref="ArgumentOutOfRangeException"/> whose <see cref="ArgumentException.ParamName"/> is the column's
/// name and whose message reads "Schema mismatch for feature column 'Features': expected …, got …".
/// </summary>
/// <remarks>
/// Feature column: a known-size vector of Single of <c>SequenceLength × InputSize</c> values (any dimensions), or a
/// variable-size vector of Single whose rows each hold a positive multiple of <c>InputSize</c> values; either way
/// time-major. Label column: see <see cref="SequenceTask"/>. The <see cref="SchemaShape"/> overloads check what an
/// estimator can know before fitting (kinds and item types, not vector sizes or key counts).
/// </remarks>
internal static class SequenceSchemaChecks
{
    private const string Feature = "feature";
    private const string Label = "label";

    /// <summary>
    /// Checks the feature column of a data view's schema.
    /// </summary>
    /// <param name="schema">The schema to look in.</param>
    /// <param name="columnName">The feature column's name.</param>
    /// <param name="inputSize">The number of features per time step. Range: &gt; 0.</param>
    /// <param name="sequenceLength">The required number of time steps, which makes a known-size column of
    /// <c>sequenceLength × inputSize</c> values the only accepted type; or <see langword="null"/> to accept any known
    /// size that is a multiple of <paramref name="inputSize"/> and variable-size columns (whose rows are checked when
    /// read). Range: &gt; 0.</param>
    /// <returns>The accepted column's description.</returns>
    /// <exception cref="ArgumentNullException"><paramref name="schema"/> or <paramref name="columnName"/> is <see langword="null"/>.</exception>
    /// <exception cref="ArgumentOutOfRangeException">The column is missing or has the wrong type or size (ParamName is
    /// the column's name); or <paramref name="inputSize"/> or <paramref name="sequenceLength"/> is not positive.</exception>
    public static SequenceFeatureColumnInfo CheckFeatureColumn(DataViewSchema schema, string columnName, int inputSize, int? sequenceLength = null)
    {
        ArgumentNullException.ThrowIfNull(schema);
        ArgumentNullException.ThrowIfNull(columnName);
        SequenceShapeArguments.Check(inputSize, sequenceLength, nameof(inputSize), nameof(sequenceLength));

        var column = schema.GetColumnOrNull(columnName) ?? throw NotFound(Feature, columnName);
        if (column.Type is not VectorDataViewType vector || vector.ItemType != NumberDataViewType.Single)
        {
            throw Mismatch(Feature, columnName, $"expected known-size vector of Single, got {column.Type}. A variable-size "
                + $"vector of Single whose length is a multiple of InputSize ({inputSize}) is also accepted");
        }

        if (!vector.IsKnownSize)
        {
            if (sequenceLength is int fixedSteps)
            {
                throw Mismatch(Feature, columnName, $"expected known-size vector of Single of length {(long)fixedSteps * inputSize} "
                    + $"(SequenceLength {fixedSteps} × InputSize {inputSize}), got {column.Type}; leave SequenceLength null for variable-length sequences");
            }

            return new SequenceFeatureColumnInfo(columnName, inputSize, null);
        }

        if (sequenceLength is int steps && (long)steps * inputSize != vector.Size)
        {
            throw Mismatch(Feature, columnName, $"expected known-size vector of Single of length {(long)steps * inputSize} "
                + $"(SequenceLength {steps} × InputSize {inputSize}), got {column.Type}");
        }

        if (vector.Size % inputSize != 0)
        {
            throw Mismatch(Feature, columnName,
                $"expected vector of Single whose length is a multiple of InputSize ({inputSize}), got {column.Type}");
        }

        return new SequenceFeatureColumnInfo(columnName, inputSize, vector.Size / inputSize);
    }

    /// <summary>
    /// Checks the feature column of an estimator's input schema shape (kind and item type only).
    /// </summary>
    /// <param name="schema">The schema shape to look in.</param>
    /// <param name="columnName">The feature column's name.</param>
    /// <exception cref="ArgumentNullException"><paramref name="schema"/> or <paramref name="columnName"/> is <see langword="null"/>.</exception>
    /// <exception cref="ArgumentOutOfRangeException">The column is missing or is not a vector of Single (ParamName is
    /// the column's name).</exception>
    public static void CheckFeatureColumn(SchemaShape schema, string columnName)
    {
        ArgumentNullException.ThrowIfNull(schema);
        ArgumentNullException.ThrowIfNull(columnName);

        if (!TryFindColumn(schema, columnName, out var column))
        {
            throw NotFound(Feature, columnName);
        }

        if (column.Kind == SchemaShape.Column.VectorKind.Scalar || column.IsKey || column.ItemType != NumberDataViewType.Single)
        {
            throw Mismatch(Feature, columnName, $"expected known-size vector of Single, got {Describe(column)}. A "
                + "variable-size vector of Single is also accepted");
        }
    }

    /// <summary>
    /// Checks the label column of a data view's schema for a task.
    /// </summary>
    /// <param name="schema">The schema to look in.</param>
    /// <param name="columnName">The label column's name.</param>
    /// <param name="kind">The task, which fixes the required type (see <see cref="SequenceTask"/>).</param>
    /// <returns>The accepted column's description, including the number of classes of a key-typed label.</returns>
    /// <exception cref="ArgumentNullException"><paramref name="schema"/> or <paramref name="columnName"/> is <see langword="null"/>.</exception>
    /// <exception cref="ArgumentOutOfRangeException">The column is missing, has the wrong type, or is a key type without
    /// a known count of values (ParamName is the column's name); or <paramref name="kind"/> is undefined.</exception>
    public static SequenceLabelColumnInfo CheckLabelColumn(DataViewSchema schema, string columnName, SequenceTask kind)
    {
        ArgumentNullException.ThrowIfNull(schema);
        ArgumentNullException.ThrowIfNull(columnName);
        CheckKind(kind);

        var column = schema.GetColumnOrNull(columnName) ?? throw NotFound(Label, columnName);
        var type = column.Type;
        switch (kind)
        {
            case SequenceTask.MulticlassClassification:
                if (type is not KeyDataViewType key)
                {
                    throw Mismatch(Label, columnName, $"expected Key type, got {type}", LabelRemedy(kind, columnName, isKey: false));
                }

                if (key.Count == 0 || key.Count > int.MaxValue)
                {
                    throw Mismatch(Label, columnName, $"expected Key type with a known count of values up to {int.MaxValue}, got {type}");
                }

                return new SequenceLabelColumnInfo(columnName, kind, type, (int)key.Count);

            case SequenceTask.BinaryClassification:
                if (type is not BooleanDataViewType)
                {
                    throw Mismatch(Label, columnName, $"expected Boolean, got {type}", LabelRemedy(kind, columnName, type is KeyDataViewType));
                }

                return new SequenceLabelColumnInfo(columnName, kind, type, 2);

            default:
                if (type != NumberDataViewType.Single)
                {
                    throw Mismatch(Label, columnName, $"expected Single, got {type}", LabelRemedy(kind, columnName, type is KeyDataViewType));
                }

                return new SequenceLabelColumnInfo(columnName, kind, type, 0);
        }
    }

    /// <summary>
    /// Checks the label column of an estimator's input schema shape for a task (kind and item type only).
    /// </summary>
    /// <param name="schema">The schema shape to look in.</param>
    /// <param name="columnName">The label column's name.</param>
    /// <param name="kind">The task, which fixes the required type.</param>
    /// <exception cref="ArgumentNullException"><paramref name="schema"/> or <paramref name="columnName"/> is <see langword="null"/>.</exception>
    /// <exception cref="ArgumentOutOfRangeException">The column is missing or has the wrong type (ParamName is the
    /// column's name); or <paramref name="kind"/> is undefined.</exception>
    public static void CheckLabelColumn(SchemaShape schema, string columnName, SequenceTask kind)
    {
        ArgumentNullException.ThrowIfNull(schema);
        ArgumentNullException.ThrowIfNull(columnName);
        CheckKind(kind);

        if (!TryFindColumn(schema, columnName, out var column))
        {
            throw NotFound(Label, columnName);
        }

        var scalar = column.Kind == SchemaShape.Column.VectorKind.Scalar;
        var (accepted, expected) = kind switch
        {
            SequenceTask.MulticlassClassification => (scalar && column.IsKey, "Key type"),
            SequenceTask.BinaryClassification => (scalar && !column.IsKey && column.ItemType is BooleanDataViewType, "Boolean"),
            _ => (scalar && !column.IsKey && column.ItemType == NumberDataViewType.Single, "Single"),
        };
        if (!accepted)
        {
            throw Mismatch(Label, columnName, $"expected {expected}, got {Describe(column)}", LabelRemedy(kind, columnName, column.IsKey));
        }
    }

    private static void CheckKind(SequenceTask kind)
    {
        if (!Enum.IsDefined(kind))
        {
            throw new ArgumentOutOfRangeException(nameof(kind), kind, $"Unknown label kind {kind}.");
        }
    }

    // SchemaShape.TryFindColumn is internal; names in a schema shape are unique.
    private static bool TryFindColumn(SchemaShape schema, string columnName, out SchemaShape.Column column)
    {
        foreach (var candidate in schema)
        {
            if (candidate.Name == columnName)
            {
                column = candidate;
                return true;
            }
        }

        column = default;
        return false;
    }

    // Mirrors how ML.NET prints column types: "Single", "Vector<Single>", "Key<UInt32>".
    private static string Describe(SchemaShape.Column column)
    {
        var itemType = column.ItemType?.ToString() ?? "unknown";
        var item = column.IsKey && column.ItemType is not KeyDataViewType ? $"Key<{itemType}>" : itemType;
        return column.Kind switch
        {
            SchemaShape.Column.VectorKind.Vector => $"Vector<{item}>",
            SchemaShape.Column.VectorKind.VariableVector => $"VarVector<{item}>",
            _ => item,
        };
    }

    private static ArgumentOutOfRangeException NotFound(string role, string columnName) =>
        new(columnName, $"Column '{columnName}' not found: the {role} column must be in the input schema.");

    private static ArgumentOutOfRangeException Mismatch(string role, string columnName, string detail, string? remedy = null) =>
        new(columnName, $"Schema mismatch for {role} column '{columnName}': {detail}.{(remedy is null ? "" : " " + remedy)}");

    // The ML.NET transform that turns a label of another type into the one the task needs; a validation set must go
    // through the transformer fitted on the training data, or its keys and values would not match the model's.
    private static string LabelRemedy(SequenceTask kind, string columnName, bool isKey) => kind switch
    {
        SequenceTask.MulticlassClassification =>
            $"Key the labels with mlContext.Transforms.Conversion.MapValueToKey(\"{columnName}\") before the trainer, and run a ValidationSet through the same fitted transformer.",
        SequenceTask.BinaryClassification when isKey =>
            $"A key label is for multiclass classification; for binary, map the keys back with MapKeyToValue(\"{columnName}\") and convert the values to Boolean.",
        SequenceTask.BinaryClassification =>
            $"Convert the labels with mlContext.Transforms.Conversion.ConvertType(\"{columnName}\", outputKind: DataKind.Boolean) (it reads text \"true\"/\"false\" or \"1\"/\"0\", and numbers 1/0), or load the column as bool.",
        _ when isKey =>
            $"A key label is for multiclass classification; regression needs the numbers themselves: map the keys back with MapKeyToValue(\"{columnName}\"), then convert them to Single.",
        _ => $"Convert the labels with mlContext.Transforms.Conversion.ConvertType(\"{columnName}\", outputKind: DataKind.Single), or load the column as float.",
    };
}
