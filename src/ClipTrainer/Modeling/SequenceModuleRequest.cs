namespace ClipTrainer.Modeling;

/// <summary>
/// What a <see cref="SequenceModuleFactory"/> is asked to build: a module of the model port for a task's shape, from
/// the options the user gave (and an archive stored).
/// </summary>
/// <param name="Options">The module's own options, as given in <c>SequenceTrainerOptions.ModuleOptions</c> or read back
/// from an archive; never null, possibly empty. Parse them with the invariant culture.</param>
/// <param name="InputSize">The number of features per time step of the input <c>[batch, time, InputSize]</c>. Range: &gt; 0.</param>
/// <param name="OutputSize">The width the output <c>[batch, OutputSize]</c> must have: the number of classes for multiclass
/// classification, 1 for binary classification (one logit) and regression. Range: &gt; 0.</param>
/// <param name="Seed">The run's seed, for a module that draws its initial weights from a generator of its own. The
/// registry also seeds libtorch's global generator with it around the factory call, so TorchSharp's default
/// initialization repeats too. When an archive is loaded the weights are overwritten afterwards.</param>
public sealed record SequenceModuleRequest(IReadOnlyDictionary<string, string> Options, int InputSize, int OutputSize, long Seed);
