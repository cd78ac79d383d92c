namespace ClipTrainer.Data;

/// <summary>
/// The prediction task a label column serves, which fixes the column type it must have and the tensor its values become.
/// </summary>
public enum SequenceLabelKind
{
    /// <summary>
    /// Multiclass classification: a key-typed label (as <c>MapValueToKey</c> makes it) with a known number of values;
    /// the class index is the key value − 1, and key value 0 (missing) skips the row. Batches hold int64 class indices.
    /// </summary>
    MulticlassClassification,

    /// <summary>
    /// Binary classification: a <see cref="bool"/> label. Batches hold float32 0/1 targets.
    /// </summary>
    BinaryClassification,

    /// <summary>
    /// Regression: a <see cref="float"/> (Single) label; NaN (missing) skips the row. Batches hold float32 targets.
    /// </summary>
    Regression,
}
