using System.Globalization;
using ClipTrainer.Modeling;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace ClipTrainer.Samples;

/// <summary>
/// A sequence module of your own, for the trainer's model port: a 1-D convolution over time (kernel 3, same length) with
/// ReLU finds local patterns, a GRU reads the pattern sequence, and a linear head maps the last valid step's state to the
/// task's outputs. Built by <see cref="Factory"/> from the string options <c>Channels</c> and <c>HiddenSize</c>.
/// </summary>
/// <remarks>With variable-length rows the convolution's window at a row's last step reads one zero of padding, as a
/// zero-padded convolution does at any sequence end; the GRU and the head never read past a row's length.</remarks>
public sealed class ConvGruModule : nn.Module<Tensor, Tensor?, Tensor>
{
    /// <summary>The name the factory is registered under, and that archives store.</summary>
    public const string FactoryName = "samples.conv-gru";

    /// <summary>Builds the module from a request: options <c>Channels</c> and <c>HiddenSize</c> (whole numbers &gt; 0).</summary>
    public static readonly SequenceModuleFactory Factory = request => new ConvGruModule(request.InputSize,
        int.Parse(request.Options["Channels"], CultureInfo.InvariantCulture),
        int.Parse(request.Options["HiddenSize"], CultureInfo.InvariantCulture), request.OutputSize);

    private readonly Conv1d convolution;
    private readonly GRU gru;
    private readonly Linear head;

    /// <summary>Creates the module with TorchSharp's default initialization (the registry seeds it with the run's seed).</summary>
    /// <param name="inputSize">Features per time step.</param>
    /// <param name="channels">Convolution output channels.</param>
    /// <param name="hiddenSize">GRU hidden size.</param>
    /// <param name="outputSize">Outputs (classes, or 1).</param>
    public ConvGruModule(int inputSize, int channels, int hiddenSize, int outputSize) : base(nameof(ConvGruModule))
    {
        convolution = nn.Conv1d(inputSize, channels, kernel_size: 3, padding: 1);
        gru = nn.GRU(channels, hiddenSize, batchFirst: true);
        head = nn.Linear(hiddenSize, outputSize);
        RegisterComponents();
    }

    /// <summary>Scores a batch: input <c>[batch, time, inputSize]</c>, lengths <c>[batch]</c> or null → <c>[batch, outputSize]</c>.</summary>
    /// <param name="input">The zero-padded features.</param>
    /// <param name="lengths">Each row's valid steps, or null when all are full length.</param>
    /// <returns>The scores, moved out of the forward's dispose scope.</returns>
    public override Tensor forward(Tensor input, Tensor? lengths)
    {
        using var scope = NewDisposeScope();
        var patterns = nn.functional.relu(convolution.forward(input.transpose(1, 2))).transpose(1, 2); // [batch, time, channels]
        var (states, _) = gru.call(patterns);
        var last = lengths is null
            ? states.select(1, -1)
            : states.gather(1, (lengths.to(ScalarType.Int64).to(states.device) - 1).view(-1, 1, 1).expand(-1, 1, states.shape[2])).squeeze(1);
        return head.forward(last).MoveToOuterDisposeScope();
    }
}
