using static TorchSharp.torch;

namespace ClipTrainer.Training;

/// <summary>Maps a <see cref="ComputeDevice"/> to a TorchSharp device, failing clearly where it is not there.</summary>
internal static class DeviceResolver
{
    /// <exception cref="InvalidOperationException">CUDA was asked for and this libtorch build has no CUDA device.</exception>
    public static Device Resolve(ComputeDevice device)
    {
        if (device == ComputeDevice.Cpu) return CPU;
        if (!cuda.is_available())
            throw new InvalidOperationException(
                "Device is Cuda, but this libtorch build sees no CUDA device (TorchSharp-cpu has none); use ComputeDevice.Cpu or reference a CUDA build of TorchSharp.");
        return CUDA;
    }
}
