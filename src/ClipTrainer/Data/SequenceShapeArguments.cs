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
}
