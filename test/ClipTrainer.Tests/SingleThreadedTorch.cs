namespace ClipTrainer.Tests;

/// <summary>Runs libtorch's intra-op work on one thread: tiny models gain nothing from more, and it avoids oversubscription.</summary>
public sealed class SingleThreadedTorch
{
    public SingleThreadedTorch() => TorchSharp.torch.set_num_threads(1);
}
