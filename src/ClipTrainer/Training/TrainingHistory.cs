namespace ClipTrainer.Training;

/// <summary>The record of a training run: one <see cref="EpochRecord"/> per epoch, and which epoch's weights were kept.</summary>
public sealed class TrainingHistory
{
    /// <summary>Creates a history.</summary>
    /// <param name="epochs">The epochs in order.</param>
    /// <param name="bestEpoch">The 1-based epoch whose weights the model holds.</param>
    /// <param name="validationMetricName">The name of <see cref="EpochRecord.ValidationMetric"/>, e.g. "Accuracy".</param>
    /// <param name="stoppedEarly">Whether early stopping ended the run before the maximum number of epochs.</param>
    public TrainingHistory(IReadOnlyList<EpochRecord> epochs, int bestEpoch, string validationMetricName, bool stoppedEarly)
    {
        StoppedEarly = stoppedEarly;
        Epochs = epochs;
        BestEpoch = bestEpoch;
        ValidationMetricName = validationMetricName;
    }

    /// <summary>Gets the epochs in order.</summary>
    public IReadOnlyList<EpochRecord> Epochs { get; }

    /// <summary>Gets the 1-based epoch whose weights the model holds: the lowest validation loss under early stopping, else the last.</summary>
    public int BestEpoch { get; }

    /// <summary>Gets the name of the validation metric: "Accuracy" or "RSquared".</summary>
    public string ValidationMetricName { get; }

    /// <summary>Gets whether early stopping ended the run before the maximum number of epochs.</summary>
    public bool StoppedEarly { get; }
}
