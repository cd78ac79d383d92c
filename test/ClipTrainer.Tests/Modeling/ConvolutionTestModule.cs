using System.Globalization;
using ClipTrainer.Modeling;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace ClipTrainer.Tests.Modeling;

/// <summary>
/// A module of the model port that is not the built-in one: a 1-D convolution over time (kernel 3, padding 1), ReLU,
/// the mean over the valid steps, and a linear head. Registered once, from a static field, as <see cref="Name"/>.
/// </summary>
internal sealed class ConvolutionTestModule : nn.Module<Tensor, Tensor?, Tensor>
{
    public const string Name = "tests.convolution";

    /// <summary>The registered factory: option "Channels" (an integer), and "ExtraOutputs" to build a wrong output width.</summary>
    public static readonly SequenceModuleFactory Factory = request => new ConvolutionTestModule(
        request.InputSize,
        int.Parse(request.Options["Channels"], CultureInfo.InvariantCulture),
        request.OutputSize + (request.Options.TryGetValue("ExtraOutputs", out var extra) ? int.Parse(extra, CultureInfo.InvariantCulture) : 0));

    private readonly Conv1d convolution;
    private readonly Linear head;

    public ConvolutionTestModule(int inputSize, int channels, int outputSize) : base(nameof(ConvolutionTestModule))
    {
        convolution = nn.Conv1d(inputSize, channels, kernel_size: 3, padding: 1);
        head = nn.Linear(channels, outputSize);
        RegisterComponents();
    }

    public static void EnsureRegistered() => SequenceModuleRegistry.Register(Name, Factory);

    public override Tensor forward(Tensor input, Tensor? lengths)
    {
        using var scope = NewDisposeScope();
        var features = nn.functional.relu(convolution.forward(input.transpose(1, 2))); // [batch, channels, time]
        var time = input.shape[1];
        var valid = lengths is null
            ? ones(input.shape[0], 1, time, device: input.device)
            : arange(time, device: input.device).unsqueeze(0).lt(lengths.to(input.device).unsqueeze(1)).unsqueeze(1).to(features.dtype);
        var pooled = (features * valid).sum(2) / valid.sum(2);
        return head.forward(pooled).MoveToOuterDisposeScope();
    }
}
