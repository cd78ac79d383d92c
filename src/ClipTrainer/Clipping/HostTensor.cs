using static TorchSharp.torch;

namespace ClipTrainer.Clipping;

/// <summary>
/// The tensors of a report or stage that was made from host values, made when a caller first asks for one: owned by
/// that report or stage (in no dispose scope), float64 norms and coefficients and a Boolean flag as the device path makes them.
/// </summary>
internal static class HostTensor
{
    public static Tensor Float64Scalar(double value, Device device, bool disposed, object owner)
    {
        ObjectDisposedException.ThrowIf(disposed, owner);
        return tensor(value, ScalarType.Float64, device).DetachFromDisposeScope();
    }

    public static Tensor Float64Vector(double[] values, Device device, bool disposed, object owner)
    {
        ObjectDisposedException.ThrowIf(disposed, owner);
        return tensor(values, [values.Length], ScalarType.Float64, device).DetachFromDisposeScope();
    }

    public static Tensor Boolean(bool value, Device device, bool disposed, object owner)
    {
        ObjectDisposedException.ThrowIf(disposed, owner);
        return tensor(value, device: device).DetachFromDisposeScope();
    }
}
