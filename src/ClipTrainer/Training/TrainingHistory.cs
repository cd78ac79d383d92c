namespace ClipTrainer.Training;

/// <summary>
/// The record of a training run: one <see cref="EpochRecord"/> per epoch, one <see cref="TrainingStepRecord"/> per
/// step, which epoch's weights were kept, and why training ended. Export it with <see cref="Save"/> (CSV and JSON).
/// </summary>
public sealed class TrainingHistory
{
    internal TrainingHistory(IReadOnlyList<EpochRecord> epochs, int bestEpoch, string validationMetricName, bool stoppedEarly,
        IReadOnlyList<TrainingStepRecord>? steps = null, IReadOnlyList<string>? stageNames = null,
        IReadOnlyList<string>? normGroupNames = null, string? stopReason = null)
    {
        StoppedEarly = stoppedEarly;
        Epochs = epochs;
        BestEpoch = bestEpoch;
        ValidationMetricName = validationMetricName;
        Steps = steps ?? [];
        StageNames = stageNames ?? [];
        NormGroupNames = normGroupNames ?? [];
        StopReason = stopReason;
    }

    /// <summary>Gets the epochs in order.</summary>
    public IReadOnlyList<EpochRecord> Epochs { get; }

    /// <summary>
    /// Gets the steps in order. Empty for a model loaded from an archive (archives keep the epochs only: the steps of a
    /// long run are large; save them with <see cref="Save"/> before).
    /// </summary>
    public IReadOnlyList<TrainingStepRecord> Steps { get; }

    /// <summary>Gets the names of the clip stages whose coefficients <see cref="TrainingStepRecord.StageCoefficients"/> holds, e.g. <c>GlobalNorm</c>, <c>LocalNorm</c>.</summary>
    public IReadOnlyList<string> StageNames { get; }

    /// <summary>Gets the names of the groups whose norms <see cref="TrainingStepRecord.GroupNorms"/> holds (empty unless requested).</summary>
    public IReadOnlyList<string> NormGroupNames { get; }

    /// <summary>Gets the 1-based epoch whose weights the model holds: the lowest validation loss under early stopping, else the last (0 when no epoch ran).</summary>
    public int BestEpoch { get; }

    /// <summary>Gets the name of the validation metric: "Accuracy" or "RSquared".</summary>
    public string ValidationMetricName { get; }

    /// <summary>Gets whether training ended before the maximum number of epochs (early stopping or a stop request).</summary>
    public bool StoppedEarly { get; }

    /// <summary>Gets the number of steps whose training loss was NaN or infinite.</summary>
    public int NonFiniteLossSteps => Steps.Count(s => !double.IsFinite(s.Loss));

    /// <summary>Gets whether the trained weights hold NaN or infinite values (checked once when training ended).</summary>
    public bool HasNonFiniteWeights { get; init; }

    /// <summary>
    /// Gets whether training diverged: a step's loss was not finite, or the weights are not. With
    /// <see cref="TrainingSettings.StopOnDivergence"/> the loop throws instead; otherwise this flag is how a run says so.
    /// </summary>
    public bool Diverged => HasNonFiniteWeights || NonFiniteLossSteps > 0 || Epochs.Any(e => !double.IsFinite(e.TrainingLoss) && e.SkippedSteps < e.Steps);

    /// <summary>Gets why training ended early (early stopping, or the reason a callback gave), or null when every epoch ran.</summary>
    public string? StopReason { get; }

    /// <summary>
    /// Writes the history into <paramref name="directory"/> (created if missing): <c>history.csv</c> (one row per step),
    /// <c>epochs.csv</c> (one row per epoch) and <c>history.json</c> (both, with the run's facts). Existing files are replaced.
    /// Numbers are written in round-trip form; NaN and ±∞ (a skipped step's norm) are <c>NaN</c>, <c>Infinity</c> and
    /// <c>-Infinity</c> in the CSV and the same words as JSON strings (JSON numbers cannot hold them); a missing
    /// value (no validation data) is an empty cell and JSON <c>null</c>.
    /// </summary>
    /// <param name="directory">The output folder.</param>
    /// <exception cref="ArgumentException"><paramref name="directory"/> is null or blank.</exception>
    /// <exception cref="IOException">A file cannot be written.</exception>
    public void Save(string directory)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(directory);
        Directory.CreateDirectory(directory);
        using (var steps = new StreamWriter(Path.Combine(directory, HistoryFiles.StepsFileName)))
        {
            steps.WriteLine(HistoryFiles.StepHeader(StageNames, NormGroupNames));
            foreach (var step in Steps) steps.WriteLine(HistoryFiles.StepRow(step, StageNames.Count, NormGroupNames.Count));
        }

        using (var epochs = new StreamWriter(Path.Combine(directory, HistoryFiles.EpochsFileName)))
        {
            epochs.WriteLine(HistoryFiles.EpochHeader);
            foreach (var epoch in Epochs) epochs.WriteLine(HistoryFiles.EpochRow(epoch));
        }

        HistoryFiles.WriteJson(this, Path.Combine(directory, HistoryFiles.JsonFileName));
    }
}
