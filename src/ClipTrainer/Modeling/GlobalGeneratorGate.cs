namespace ClipTrainer.Modeling;

/// <summary>
/// Serializes this library's users of libtorch's one global random generator: training runs (dropout draws from it)
/// and model construction (TorchSharp's modules draw their default initial weights from it). Without it, a model
/// built on one thread while another thread trains shifts that run's dropout masks, and a seeded run no longer repeats.
/// </summary>
internal static class GlobalGeneratorGate
{
    /// <summary>The lock every user of the global generator in this library holds while it draws.</summary>
    public static readonly object Gate = new();
}
