using Xunit;

namespace ClipTrainer.Tests;

/// <summary>
/// The collection of every test class that trains or scores through the ML.NET trainer. Its tests run one at a time
/// and after the parallel part of the run: training seeds TorchSharp's global generator (dropout draws from it), and
/// libtorch's intra-op threads on two shared cores would fight (the fixture pins them to one; the models are tiny).
/// </summary>
[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class TorchSharpTrainingCollection : ICollectionFixture<SingleThreadedTorch>
{
    public const string Name = "TorchSharp training";
}
