using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace ClipTrainer.Tests.Clipping;

/// <summary>A 2-layer bidirectional LSTM and a head with seeded weights, whose <see cref="Backward"/> leaves real, repeatable gradients.</summary>
internal sealed class SmallLstmModel : nn.Module
{
    private readonly LSTM lstm;
    private readonly Linear head;

    public SmallLstmModel() : base(nameof(SmallLstmModel))
    {
        // Modules are built outside any dispose scope: a scope would dispose their parameters.
        lstm = nn.LSTM(6, 8, numLayers: 2, batchFirst: true, bidirectional: true);
        head = nn.Linear(16, 3);
        RegisterComponents();
        using var generator = new Generator(seed: 7);
        using var scope = NewDisposeScope();
        using (no_grad())
        {
            foreach (var p in parameters())
            {
                p.copy_(rand(p.shape, generator: generator) - 0.5);
            }
        }
    }

    /// <summary>One forward and backward on a batch drawn from <paramref name="seed"/>; gradients accumulate.</summary>
    public void Backward(long seed)
    {
        using var scope = NewDisposeScope();
        using var generator = new Generator(seed: (ulong)seed);
        var x = randn(new long[] { 4, 5, 6 }, generator: generator);
        var target = randint(0, 3, [4], generator: generator);
        var (output, _, _) = lstm.call(x);
        nn.functional.cross_entropy(head.call(output[.., -1, ..]), target).backward();
    }
}
