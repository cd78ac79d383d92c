using static TorchSharp.torch;

namespace ClipTrainer.Data;

/// <summary>
/// The one zero-padding of sequences into model input, for training batches and scoring blocks alike, so a row is
/// laid out the same way whichever path it takes: features <c>[rows, T, InputSize]</c> with T the longest row's
/// number of steps, zeros after each row's end, and lengths <c>[rows]</c>.
/// </summary>
internal static class SequencePadding
{
    /// <summary>Writes row <paramref name="row"/>'s features (steps × InputSize values, time-major) to the start of <paramref name="destination"/>.</summary>
    public delegate void RowWriter(int row, Span<float> destination);

    public static (Tensor Features, Tensor Lengths) ToTensors(int count, int inputSize, Func<int, int> stepsOf, RowWriter write, Device? device)
    {
        var lengths = new long[count];
        var time = 0;
        for (var b = 0; b < count; b++)
        {
            lengths[b] = stepsOf(b);
            time = Math.Max(time, (int)lengths[b]);
        }

        var values = new float[(long)count * time * inputSize];
        for (var b = 0; b < count; b++)
        {
            write(b, values.AsSpan(b * time * inputSize, (int)lengths[b] * inputSize));
        }

        return (tensor(values, [count, time, inputSize], device: device), tensor(lengths, device: device));
    }
}
