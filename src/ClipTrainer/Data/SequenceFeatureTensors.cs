using static TorchSharp.torch;

namespace ClipTrainer.Data;

/// <summary>
/// Sequence features as model input: zero-padded features and per-row lengths, as
/// <see cref="SequenceTensorFactory"/> makes them for scoring.
/// </summary>
/// <remarks>
/// Ownership: as for <see cref="SequenceBatch"/>, the object owns both tensors and <see cref="Dispose"/> releases them;
/// they are also registered with the dispose scope current when they were made.
/// </remarks>
public sealed class SequenceFeatureTensors : IDisposable
{
    internal SequenceFeatureTensors(Tensor features, Tensor lengths)
    {
        Features = features;
        Lengths = lengths;
    }

    /// <summary>
    /// Gets the features: float32 <c>[rows, T, InputSize]</c>, T being the longest row's length; steps past a row's
    /// length are 0.
    /// </summary>
    public Tensor Features { get; }

    /// <summary>
    /// Gets each row's number of valid time steps: int64 <c>[rows]</c>, each in [1, T].
    /// </summary>
    public Tensor Lengths { get; }

    /// <summary>
    /// Releases both tensors. Safe to call more than once.
    /// </summary>
    public void Dispose()
    {
        Features.Dispose();
        Lengths.Dispose();
    }
}
