using Microsoft.ML.Data;
using static TorchSharp.torch;

namespace ClipTrainer.Data;

/// <summary>
/// Turns feature vectors read from an <c>IDataView</c> into model input for scoring one row or a block of rows, padded
/// exactly as training batches are (<see cref="SequencePadding"/>), so a row scores the same alone or in a block.
/// </summary>
/// <remarks>Each vector holds a sequence time-major (a positive multiple of <c>InputSize</c> values; sparse vectors are densified).</remarks>
internal static class SequenceTensorFactory
{
    /// <summary>Model input for one row: features <c>[1, T, InputSize]</c> and lengths <c>[1]</c>, null for a full-length row (see <see cref="Create(IReadOnlyList{VBuffer{float}}, int, Device?)"/>).</summary>
    public static (Tensor Features, Tensor? Lengths) Create(in VBuffer<float> row, int inputSize, Device? device = null) =>
        Create(new[] { row }, inputSize, device);

    /// <summary>Model input for a block of rows, zero-padded to the longest row; lengths null when every row is as long
    /// as the longest (as the training loop passes full-length batches, so a row scores the same alone or in a block).</summary>
    /// <exception cref="ArgumentException">The block is empty, or a vector does not hold a positive multiple of
    /// <paramref name="inputSize"/> values (the message gives its index in the block and its length).</exception>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="inputSize"/> is not positive.</exception>
    public static (Tensor Features, Tensor? Lengths) Create(IReadOnlyList<VBuffer<float>> rows, int inputSize, Device? device = null)
    {
        ArgumentNullException.ThrowIfNull(rows);
        SequenceShapeArguments.CheckInputSize(inputSize, nameof(inputSize));
        if (rows.Count == 0)
        {
            throw new ArgumentException("At least one row is needed.", nameof(rows));
        }

        for (var b = 0; b < rows.Count; b++)
        {
            if (!SequenceShapeArguments.FitsInputSize(rows[b].Length, inputSize))
            {
                throw new ArgumentException(SequenceShapeArguments.RowLengthMessage($"Row {b} of the block", rows[b].Length, inputSize), nameof(rows));
            }
        }

        var (features, lengths, _) = SequencePadding.ToTensors(rows.Count, inputSize, b => rows[b].Length / inputSize,
            (b, destination) => rows[b].CopyTo(destination), device);
        return (features, lengths);
    }
}
