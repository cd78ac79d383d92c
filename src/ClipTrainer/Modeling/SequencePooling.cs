namespace ClipTrainer.Modeling;

/// <summary>
/// How a <see cref="SequenceModel"/> reduces the recurrent outputs of a sequence to one vector before its linear head.
/// </summary>
/// <remarks>
/// Every mode looks only at a row's valid time steps (the first <c>lengths[b]</c> steps), so the zero padding after
/// them cannot change the result.
/// </remarks>
public enum SequencePooling
{
    /// <summary>
    /// The output at the last valid step. For a bidirectional model this is the forward direction's output at the last
    /// valid step concatenated with the backward direction's output at step 0 (where the backward pass ends).
    /// </summary>
    LastStep,

    /// <summary>
    /// The mean of the outputs over the valid steps.
    /// </summary>
    Mean,

    /// <summary>
    /// The element-wise maximum of the outputs over the valid steps.
    /// </summary>
    Max,
}
