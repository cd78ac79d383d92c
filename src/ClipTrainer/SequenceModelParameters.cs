using ClipTrainer.Modeling;

namespace ClipTrainer;

/// <summary>
/// The trained network of a <see cref="SequenceTransformer"/> and the shape of its input: what
/// <see cref="SequenceTransformer.Model"/> returns, for inspection or for use outside ML.NET.
/// </summary>
public sealed class SequenceModelParameters : IDisposable
{
    internal SequenceModelParameters(SequenceModel network, int? sequenceLength)
    {
        Network = network;
        SequenceLength = sequenceLength;
    }

    /// <summary>Gets the trained TorchSharp module (in evaluation mode). Owned by this object: do not dispose it yourself.</summary>
    public SequenceModel Network { get; }

    /// <summary>Gets the architecture of <see cref="Network"/> (a copy).</summary>
    public SequenceModelOptions Options => Network.Options;

    /// <summary>Gets the fixed number of time steps the model was trained on, or null for variable-length sequences.</summary>
    public int? SequenceLength { get; }

    /// <summary>Releases the network's tensors.</summary>
    public void Dispose() => Network.Dispose();
}
