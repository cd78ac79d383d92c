using TorchSharp;
using static TorchSharp.torch;

namespace ClipTrainer.Training;

/// <summary>
/// Named tensors in one file, bit-exact: a count, then per tensor its name and TorchSharp's own tensor encoding
/// (<c>Save</c>/<c>Load</c>: dtype, shape, raw bytes). Used for a checkpoint's weights, clipper state and random state.
/// </summary>
internal static class NamedTensorFile
{
    public static void Write(string path, IEnumerable<KeyValuePair<string, Tensor>> tensors)
    {
        using var stream = File.Create(path);
        using var writer = new BinaryWriter(stream);
        var list = tensors.ToList();
        writer.Write(list.Count);
        foreach (var (name, tensor) in list)
        {
            writer.Write(name);
            using var cpu = tensor.detach().cpu().contiguous();
            cpu.Save(writer);
        }
    }

    /// <summary>Reads every tensor onto the CPU; the caller owns (and disposes) them.</summary>
    public static Dictionary<string, Tensor> Read(string path)
    {
        using var stream = File.OpenRead(path);
        using var reader = new BinaryReader(stream);
        var count = reader.ReadInt32();
        var tensors = new Dictionary<string, Tensor>(StringComparer.Ordinal);
        try
        {
            for (var i = 0; i < count; i++)
            {
                var name = reader.ReadString();
                tensors.Add(name, TensorExtensionMethods.Load(reader).DetachFromDisposeScope());
            }
        }
        catch
        {
            foreach (var tensor in tensors.Values) tensor.Dispose();
            throw;
        }

        return tensors;
    }
}
