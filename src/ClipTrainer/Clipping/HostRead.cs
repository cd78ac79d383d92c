using TorchSharp;
using static TorchSharp.torch;

namespace ClipTrainer.Clipping;

/// <summary>Reads small tensors back to the host; each call is one synchronisation and leaks no temporaries.</summary>
internal static class HostRead
{
    public static double Double(Tensor value)
    {
        ObjectDisposedException.ThrowIf(value.IsInvalid, value);
        if (value.device_type == DeviceType.CPU)
        {
            // No conversion: one native call (float32 widens to double exactly).
            if (value.dtype == ScalarType.Float64) return value.item<double>();
            if (value.dtype == ScalarType.Float32) return value.item<float>();
        }

        using var scope = NewDisposeScope();
        return value.to(ScalarType.Float64, CPU).item<double>();
    }

    public static double[] Doubles(Tensor values)
    {
        ObjectDisposedException.ThrowIf(values.IsInvalid, values);
        using var scope = NewDisposeScope();
        using var accessor = values.to(ScalarType.Float64, CPU).contiguous().data<double>();
        return accessor.ToArray();
    }

    public static long[] Longs(Tensor values)
    {
        ObjectDisposedException.ThrowIf(values.IsInvalid, values);
        using var scope = NewDisposeScope();
        using var accessor = values.to(ScalarType.Int64, CPU).contiguous().data<long>();
        return accessor.ToArray();
    }

    public static bool Boolean(Tensor value)
    {
        ObjectDisposedException.ThrowIf(value.IsInvalid, value);
        if (value.dtype == ScalarType.Bool && value.device_type == DeviceType.CPU) return value.item<bool>();
        using var scope = NewDisposeScope();
        return value.to(ScalarType.Bool, CPU).item<bool>();
    }
}
