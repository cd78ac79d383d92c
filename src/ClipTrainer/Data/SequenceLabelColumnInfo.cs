using Microsoft.ML.Data;

namespace ClipTrainer.Data;

/// <summary>
/// A label column that <see cref="SequenceSchemaChecks.CheckLabelColumn(Microsoft.ML.DataViewSchema, string, SequenceTask)"/>
/// accepted for a task.
/// </summary>
internal sealed class SequenceLabelColumnInfo
{
    internal SequenceLabelColumnInfo(string name, SequenceTask kind, DataViewType type, int numberOfClasses)
    {
        Name = name;
        Kind = kind;
        Type = type;
        NumberOfClasses = numberOfClasses;
    }

    /// <summary>
    /// Gets the column's name.
    /// </summary>
    public string Name { get; }

    /// <summary>
    /// Gets the task the label serves.
    /// </summary>
    public SequenceTask Kind { get; }

    /// <summary>
    /// Gets the column's type (a <see cref="KeyDataViewType"/> for multiclass, whose key values the predicted label
    /// should carry back).
    /// </summary>
    public DataViewType Type { get; }

    /// <summary>
    /// Gets the number of classes: the key type's count for multiclass classification, 2 for binary classification,
    /// 0 for regression.
    /// </summary>
    public int NumberOfClasses { get; }

    /// <summary>
    /// Gets the number of model outputs the task needs: <see cref="NumberOfClasses"/> logits for multiclass
    /// classification, one logit for binary classification, one value for regression.
    /// </summary>
    public int OutputSize => Kind == SequenceTask.MulticlassClassification ? NumberOfClasses : 1;
}
