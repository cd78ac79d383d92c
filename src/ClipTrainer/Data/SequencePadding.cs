using System.Runtime.InteropServices;
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

        // Written in place into the tensor's own CPU memory: a managed array per batch would pin, then leave garbage of
        // a whole batch per step, which the GC may keep for hundreds of steps (streaming's flat memory depends on it).
        var features = zeros([count, time, inputSize], ScalarType.Float32);
        var values = MemoryMarshal.Cast<byte, float>(features.bytes);
        for (var b = 0; b < count; b++)
        {
            write(b, values.Slice(b * time * inputSize, (int)lengths[b] * inputSize));
        }

        if (device is not null && device.type != TorchSharp.DeviceType.CPU)
        {
            using var onCpu = features;
            features = onCpu.to(device);
        }
        return (features, tensor(lengths, device: device));
    }
}
