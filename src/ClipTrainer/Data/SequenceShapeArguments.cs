namespace ClipTrainer.Data;

/// <summary>The one check of a sequence shape (features per step, optional fixed number of steps), under the caller's names.</summary>
internal static class SequenceShapeArguments
{
    /// <exception cref="ArgumentOutOfRangeException">The input size is not positive.</exception>
    public static void CheckInputSize(int inputSize, string name)
    {
        if (!(inputSize > 0))
            throw new ArgumentOutOfRangeException(name, inputSize, $"{name} must be greater than 0 (the number of features per time step); got {inputSize}.");
    }

    /// <exception cref="ArgumentOutOfRangeException">The input size is not positive, or the sequence length is set and not positive.</exception>
    public static void Check(int inputSize, int? sequenceLength, string inputSizeName, string sequenceLengthName)
    {
        CheckInputSize(inputSize, inputSizeName);
        if (sequenceLength is int steps && !(steps > 0))
            throw new ArgumentOutOfRangeException(sequenceLengthName, steps,
                $"{sequenceLengthName} must be null (variable length) or greater than 0; got {steps}.");
    }

    /// <summary>
    /// The one row-length rule: a sequence holds a positive whole number of steps of <paramref name="inputSize"/> values.
    /// Checked per row on the scoring and data paths, so the message is built only for a row that breaks it.
    /// </summary>
    public static bool FitsInputSize(long length, int inputSize) => length > 0 && length % inputSize == 0;

    /// <summary>
    /// The message for a row that breaks <see cref="FitsInputSize"/>: it names the row (e.g. "Row 3 of feature column
    /// 'Features'"), its length and the input size; the caller picks the exception type of its context.
    /// </summary>
    public static string RowLengthMessage(string row, long length, int inputSize) =>
        string.Create(System.Globalization.CultureInfo.InvariantCulture,
            $"{row} holds {length} values, which is not a positive multiple of InputSize {inputSize}.");
}
