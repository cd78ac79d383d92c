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

    /// <summary>Pads <paramref name="count"/> rows into tensors on <paramref name="device"/> (null: the CPU).</summary>
    /// <returns>The features, the lengths, and whether every row has the longest row's length (then the model needs no
    /// lengths: known here without a host read, which the model's own check of the lengths tensor would cost).</returns>
    public static (Tensor Features, Tensor? Lengths, int Time) ToTensors(int count, int inputSize, Func<int, int> stepsOf, RowWriter write, Device? device)
    {
        var steps = new int[count];
        var (time, shortest) = (0, int.MaxValue);
        for (var b = 0; b < count; b++)
        {
            var length = steps[b] = stepsOf(b);
            time = Math.Max(time, length);
            shortest = Math.Min(shortest, length);
        }

        // Written in place into the tensor's own CPU memory: a managed array per batch would pin, then leave garbage of
        // a whole batch per step, which the GC may keep for hundreds of steps (streaming's flat memory depends on it).
        // Full-length rows fill the tensor: no zeroing, and no lengths tensor (the batch makes one if asked).
        var fullLength = shortest == time;
        var features = fullLength ? empty([count, time, inputSize], ScalarType.Float32) : zeros([count, time, inputSize], ScalarType.Float32);
        var values = Values<float>(features, count * time * inputSize);
        for (var b = 0; b < count; b++)
        {
            write(b, values.Slice(b * time * inputSize, steps[b] * inputSize));
        }

        return (ToDevice(features, device), fullLength ? null : ToDevice(Vector(count, ScalarType.Int64, b => (long)steps[b]), device), time);
    }

    public static Tensor Int64(int count, Func<int, long> valueOf, Device? device) => ToDevice(Vector(count, ScalarType.Int64, valueOf), device);

    /// <summary>A 1-D float32 CPU tensor of <paramref name="count"/> values written in place (see <see cref="Int64"/>).</summary>
    public static Tensor Float32(int count, Func<int, float> valueOf, Device? device) => ToDevice(Vector(count, ScalarType.Float32, valueOf), device);

    private static Tensor Vector<T>(int count, ScalarType type, Func<int, T> valueOf) where T : unmanaged
    {
        var result = empty([count], type);
        var values = Values<T>(result, count);
        for (var i = 0; i < count; i++) values[i] = valueOf(i);
        return result;
    }

    /// <summary>
    /// The memory of a tensor this class just made (contiguous, on the CPU, <paramref name="count"/> elements of
    /// <typeparamref name="T"/>): one native call, where <c>Tensor.bytes</c> makes five to check what is known here.
    /// </summary>
    private static unsafe Span<T> Values<T>(Tensor tensor, int count) where T : unmanaged
    {
        var data = THSTensor_data(tensor.Handle);
        if (data == IntPtr.Zero && count > 0) TorchSharp.torch.CheckForErrors();
        GC.KeepAlive(tensor);
        return new Span<T>((void*)data, count);
    }

    // DllImport rather than LibraryImport: the library TorchSharp has already loaded, resolved the same way.
    [DllImport("LibTorchSharp")]
    private static extern IntPtr THSTensor_data(IntPtr tensor);

    private static Tensor ToDevice(Tensor onCpu, Device? device)
    {
        if (device is null || device.type == TorchSharp.DeviceType.CPU) return onCpu;
        using (onCpu) return onCpu.to(device);
    }
}
