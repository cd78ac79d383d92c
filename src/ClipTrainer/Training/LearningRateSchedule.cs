namespace ClipTrainer.Training;

/// <summary>How the learning rate changes over the optimizer steps of a training run.</summary>
public enum LearningRateSchedule
{
    /// <summary>The learning rate stays at its base value.</summary>
    Constant,

    /// <summary>
    /// ML.NET's TorchSharp schedule (one cycle, linear annealing): the rate rises linearly from
    /// <c>LearningRate × StartLearningRateRatio</c> to <c>LearningRate</c> over the warm-up fraction of the steps, then
    /// falls linearly to <c>LearningRate × FinalLearningRateRatio</c> at the last step.
    /// </summary>
    OneCycle,

    /// <summary>The same warm-up as <see cref="OneCycle"/>, then a half-cosine decay to <c>LearningRate × FinalLearningRateRatio</c>.</summary>
    Cosine,
}
