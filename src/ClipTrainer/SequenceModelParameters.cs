using ClipTrainer.Modeling;
using static TorchSharp.torch;

namespace ClipTrainer;

/// <summary>
/// The trained network of a <see cref="SequenceTransformer"/> and the shape of its input: what
/// <see cref="SequenceTransformer.Model"/> returns, for inspection or for use outside ML.NET.
/// </summary>
public sealed class SequenceModelParameters : IDisposable
{
    internal SequenceModelParameters(nn.Module<Tensor, Tensor?, Tensor> network, int? sequenceLength, string moduleFactoryName,
        IReadOnlyDictionary<string, string> moduleOptions, int inputSize, int outputSize)
    {
        Network = network;
        SequenceLength = sequenceLength;
        ModuleFactoryName = moduleFactoryName;
        ModuleOptions = new Dictionary<string, string>(moduleOptions, StringComparer.Ordinal);
        InputSize = inputSize;
        OutputSize = outputSize;
    }

    /// <summary>
    /// Gets the trained TorchSharp module (in evaluation mode): a <see cref="SequenceModel"/> for the built-in model, else
    /// what the registered factory built. Owned by this object: do not dispose it yourself.
    /// </summary>
    public nn.Module<Tensor, Tensor?, Tensor> Network { get; }

    /// <summary>Gets the architecture of the built-in model (a copy), or null when <see cref="Network"/> is a module of your own.</summary>
    public SequenceModelOptions? Options => (Network as SequenceModel)?.Options;

    /// <summary>Gets the name the module's factory is registered under (<see cref="SequenceModuleRegistry.RecurrentModuleName"/> for the built-in model).</summary>
    public string ModuleFactoryName { get; }

    /// <summary>Gets the module's own options, as handed to its factory and stored in archives.</summary>
    public IReadOnlyDictionary<string, string> ModuleOptions { get; }

    /// <summary>Gets the number of features per time step the module reads.</summary>
    public int InputSize { get; }

    /// <summary>Gets the width of the module's output: the number of classes (multiclass) or 1.</summary>
    public int OutputSize { get; }

    /// <summary>Gets the fixed number of time steps the model was trained on, or null for variable-length sequences.</summary>
    public int? SequenceLength { get; }

    /// <summary>Releases the network's tensors.</summary>
    public void Dispose() => Network.Dispose();
}
