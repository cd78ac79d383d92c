namespace ClipTrainer.Data;

/// <summary>
/// The prediction task: it fixes the label column's type, the model's head, the loss and the output columns.
/// </summary>
public enum SequenceTask
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
