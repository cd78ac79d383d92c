using static TorchSharp.torch;

namespace ClipTrainer.Modeling;

/// <summary>
/// Builds a module of the training loop's model port: <c>forward(features, lengths)</c> with features float32
/// <c>[batch, time, InputSize]</c> and lengths int64 <c>[batch]</c> (or null) → outputs <c>[batch, OutputSize]</c>
/// (logits for classification). Register one with <see cref="SequenceModuleRegistry.Register"/>.
/// </summary>
/// <param name="request">The shape and the module's own options.</param>
/// <returns>A new module on the CPU, in training mode; the caller owns it. Its parameter names and shapes must depend only
/// on the request, since an archive's weights are loaded into a module the factory builds from the stored request.</returns>
public delegate nn.Module<Tensor, Tensor?, Tensor> SequenceModuleFactory(SequenceModuleRequest request);
