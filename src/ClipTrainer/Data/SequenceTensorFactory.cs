using Microsoft.ML.Data;
using static TorchSharp.torch;

namespace ClipTrainer.Data;

/// <summary>
/// Turns feature vectors read from an <c>IDataView</c> into model input, for scoring one row or a block of rows.
/// </summary>
/// <remarks>
/// Each vector holds a sequence time-major (a positive multiple of <c>InputSize</c> values; sparse vectors are
/// densified). The result is zero-padded to the longest row, with per-row lengths, exactly as
/// <see cref="SequenceBatcher"/> pads training batches, so a row scores the same alone or in a block.
/// </remarks>
public static class SequenceTensorFactory
{
    /// <summary>
    /// Makes model input for one row: features <c>[1, T, InputSize]</c> and lengths <c>[1]</c>.
    /// </summary>
    /// <param name="row">The row's feature vector.</param>
    /// <param name="inputSize">The number of features per time step. Range: &gt; 0.</param>
    /// <param name="device">The device for the tensors; <see langword="null"/> for the CPU.</param>
    /// <returns>New tensors owned by the result (see <see cref="SequenceFeatureTensors"/>).</returns>
    /// <exception cref="ArgumentException">The vector does not hold a positive multiple of <paramref name="inputSize"/> values.</exception>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="inputSize"/> is not positive.</exception>
    public static SequenceFeatureTensors Create(in VBuffer<float> row, int inputSize, Device? device = null) =>
        Create(new[] { row }, inputSize, device);

    /// <summary>
    /// Makes model input for a block of rows: features <c>[rows, T, InputSize]</c> zero-padded to the longest row, and
    /// lengths <c>[rows]</c>.
    /// </summary>
    /// <param name="rows">The rows' feature vectors, in output order; at least one.</param>
    /// <param name="inputSize">The number of features per time step. Range: &gt; 0.</param>
    /// <param name="device">The device for the tensors; <see langword="null"/> for the CPU.</param>
    /// <returns>New tensors owned by the result (see <see cref="SequenceFeatureTensors"/>).</returns>
    /// <exception cref="ArgumentNullException"><paramref name="rows"/> is <see langword="null"/>.</exception>
    /// <exception cref="ArgumentException"><paramref name="rows"/> is empty, or a vector does not hold a positive
    /// multiple of <paramref name="inputSize"/> values (the message gives its index in the block and its length).</exception>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="inputSize"/> is not positive.</exception>
    public static SequenceFeatureTensors Create(IReadOnlyList<VBuffer<float>> rows, int inputSize, Device? device = null)
    {
        ArgumentNullException.ThrowIfNull(rows);
        SequenceShapeArguments.CheckInputSize(inputSize, nameof(inputSize));

        if (rows.Count == 0)
        {
            throw new ArgumentException("At least one row is needed.", nameof(rows));
        }

        var count = rows.Count;
        var lengths = new long[count];
        var time = 0;
        for (var b = 0; b < count; b++)
        {
            var length = rows[b].Length;
            if (length == 0 || length % inputSize != 0)
            {
                throw new ArgumentException(
                    $"Row {b} of the block holds {length} values, which is not a positive multiple of InputSize {inputSize}.",
                    nameof(rows));
            }

            lengths[b] = length / inputSize;
            time = Math.Max(time, (int)lengths[b]);
        }

        var values = new float[(long)count * time * inputSize];
        for (var b = 0; b < count; b++)
        {
            rows[b].CopyTo(values.AsSpan(b * time * inputSize, rows[b].Length));
        }

        var features = tensor(values, new long[] { count, time, inputSize }, device: device);
        return new SequenceFeatureTensors(features, tensor(lengths, device: device));
    }
}
