using System.Collections.Concurrent;
using TorchSharp;
using static TorchSharp.torch;

namespace ClipTrainer.Modeling;

/// <summary>
/// The process-wide table of sequence-module factories by name: the trainer builds its model through it
/// (<c>SequenceTrainerOptions.ModuleFactoryName</c>), and a pipeline archive stores the name and the module's options
/// and builds the module through it again when loaded, as ML.NET's <c>CustomMapping</c> stores a contract name.
/// </summary>
/// <remarks>
/// The built-in recurrent model (<see cref="SequenceModel"/>) is registered as <see cref="RecurrentModuleName"/> and
/// goes through the same path. Register your factories at start-up, before training or loading, in every process that
/// loads an archive made with them.
/// </remarks>
public static class SequenceModuleRegistry
{
    /// <summary>The name of the built-in recurrent model (RNN/LSTM/GRU, pooling, linear head), always registered.</summary>
    public const string RecurrentModuleName = "ClipTrainer.Recurrent";

    private static readonly ConcurrentDictionary<string, SequenceModuleFactory> Factories = new(StringComparer.Ordinal)
    {
        [RecurrentModuleName] = RecurrentModuleOptions.Create,
    };

    /// <summary>Registers <paramref name="factory"/> under <paramref name="name"/>.</summary>
    /// <param name="name">The name an archive stores; case-sensitive, not blank.</param>
    /// <param name="factory">The factory. Registering the same delegate instance again under its name does nothing.</param>
    /// <exception cref="ArgumentNullException"><paramref name="name"/> or <paramref name="factory"/> is null.</exception>
    /// <exception cref="ArgumentException"><paramref name="name"/> is blank, or already names another factory (a
    /// silent replacement would load archives into a different module).</exception>
    public static void Register(string name, SequenceModuleFactory factory)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(name);
        ArgumentNullException.ThrowIfNull(factory);
        var registered = Factories.GetOrAdd(name, factory);
        if (registered != factory)
            throw new ArgumentException(
                $"A different sequence module factory is already registered as '{name}'; pick another name (or register the same delegate " +
                "instance once, e.g. from a static field).", nameof(name));
    }

    /// <summary>Gets whether a factory is registered under <paramref name="name"/>.</summary>
    /// <param name="name">The name.</param>
    /// <returns>True when <paramref name="name"/> is registered.</returns>
    public static bool IsRegistered(string name) => name is not null && Factories.ContainsKey(name);

    /// <summary>Gets the registered names, sorted.</summary>
    public static IReadOnlyList<string> Names => [.. Factories.Keys.Order(StringComparer.Ordinal)];

    /// <summary>The message for a name nothing is registered under: which name, what is registered, how to register it.</summary>
    internal static string NotRegisteredMessage(string name, string whereFrom) =>
        $"{whereFrom} names the sequence module factory '{name}', which is not registered in this process (registered: " +
        $"{string.Join(", ", Names)}). Register it before training or loading: " +
        $"SequenceModuleRegistry.Register(\"{name}\", request => new YourModule(...)).";

    /// <summary>
    /// Builds the module registered as <paramref name="name"/> under the global-generator gate, with libtorch's global
    /// generator seeded by the request's seed and given back afterwards.
    /// </summary>
    /// <exception cref="InvalidOperationException">Nothing is registered under the name, or the factory returned null.</exception>
    internal static nn.Module<Tensor, Tensor?, Tensor> Create(string name, SequenceModuleRequest request)
    {
        if (!Factories.TryGetValue(name, out var factory))
            throw new InvalidOperationException(NotRegisteredMessage(name, "The model"));
        // Default TorchSharp initializations draw from the global generator: seeding it makes a custom module repeat.
        lock (GlobalGeneratorGate.Gate)
        {
            using var generatorState = torch.random.get_rng_state();
            try
            {
                torch.manual_seed(request.Seed);
                return factory(request) ?? throw new InvalidOperationException($"The sequence module factory '{name}' returned null.");
            }
            finally
            {
                torch.random.set_rng_state(generatorState);
            }
        }
    }
}
