namespace ClipTrainer.Data;

/// <summary>
/// A feature column that <see cref="SequenceSchemaChecks.CheckFeatureColumn(Microsoft.ML.DataViewSchema, string, int, int?)"/>
/// accepted: a vector of Single holding a sequence time-major (step 0's <see cref="InputSize"/> features first).
/// </summary>
internal sealed class SequenceFeatureColumnInfo
{
    internal SequenceFeatureColumnInfo(string name, int inputSize, int? sequenceLength)
    {
        Name = name;
        InputSize = inputSize;
        SequenceLength = sequenceLength;
    }

    /// <summary>
    /// Gets the column's name.
    /// </summary>
    public string Name { get; }

    /// <summary>
    /// Gets the number of features per time step.
    /// </summary>
    public int InputSize { get; }

    /// <summary>
    /// Gets the number of time steps of every row when the column is a known-size vector (its size ÷ InputSize), or
    /// <see langword="null"/> when it is a variable-size vector and each row has its own length.
    /// </summary>
    public int? SequenceLength { get; }

    /// <summary>
    /// Gets whether rows may differ in length (the column is a variable-size vector).
    /// </summary>
    public bool IsVariableLength => SequenceLength is null;
}
