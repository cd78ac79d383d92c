namespace ClipTrainer.Training;

/// <summary>
/// A monitoring sink that writes the history as training goes: <c>history.csv</c> gets each block of per-step rows as
/// it is read (no extra synchronisation), <c>epochs.csv</c> a row per epoch, and <c>history.json</c> the whole history
/// at the end — also when training throws, so a failed run leaves what it did. The files are those of
/// <see cref="TrainingHistory.Save"/>.
/// </summary>
public sealed class HistoryFilesCallback : TrainingCallback
{
    private StreamWriter? _steps;
    private StreamWriter? _epochs;
    private int _stageColumns;
    private int _groupColumns;
    private int _written;

    /// <summary>Creates the sink.</summary>
    /// <param name="directory">The output folder; created when training starts. Files of an earlier run there are replaced.</param>
    /// <exception cref="ArgumentException"><paramref name="directory"/> is null or blank.</exception>
    public HistoryFilesCallback(string directory)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(directory);
        Directory = directory;
    }

    /// <summary>Gets the output folder.</summary>
    public string Directory { get; }

    /// <inheritdoc/>
    public override void OnTrainingStart(TrainingState state)
    {
        Close();
        System.IO.Directory.CreateDirectory(Directory);
        _steps = new StreamWriter(Path.Combine(Directory, HistoryFiles.StepsFileName));
        _epochs = new StreamWriter(Path.Combine(Directory, HistoryFiles.EpochsFileName));
        _epochs.WriteLine(HistoryFiles.EpochHeader);
        _stageColumns = -1;
        _written = 0;
    }

    /// <inheritdoc/>
    public override void OnStepRecords(TrainingState state, IReadOnlyList<TrainingStepRecord> records) => WriteSteps(state, final: false);

    /// <summary>
    /// Appends the steps not yet in the file. The header (its stage columns) is known once a step was applied, so rows
    /// of skipped first steps wait for it; at the end of a run whatever is known is written.
    /// </summary>
    private void WriteSteps(TrainingState state, bool final)
    {
        if (_steps is null || !(state.Log.StagesKnown || final)) return;
        if (_stageColumns < 0)
        {
            _stageColumns = state.Log.StageNames.Count;
            _groupColumns = state.Log.GroupNames.Count;
            _steps.WriteLine(HistoryFiles.StepHeader(state.Log.StageNames, state.Log.GroupNames));
        }

        var steps = state.Steps;
        for (; _written < steps.Count; _written++) _steps.WriteLine(HistoryFiles.StepRow(steps[_written], _stageColumns, _groupColumns));
        _steps.Flush();
    }

    /// <inheritdoc/>
    public override void OnEpochEnd(TrainingState state, EpochRecord record)
    {
        _epochs?.WriteLine(HistoryFiles.EpochRow(record));
        _epochs?.Flush();
    }

    /// <inheritdoc/>
    public override void OnTrainingEnd(TrainingState state, TrainingHistory history)
    {
        WriteSteps(state, final: true);
        Close();
        HistoryFiles.WriteJson(history, Path.Combine(Directory, HistoryFiles.JsonFileName));
    }

    /// <inheritdoc/>
    public override void OnException(TrainingState state, Exception exception)
    {
        WriteSteps(state, final: true);
        Close();
        HistoryFiles.WriteJson(SequenceTrainingLoop.HistoryOf(state, bestEpoch: state.Epochs.Count), Path.Combine(Directory, HistoryFiles.JsonFileName));
    }

    private void Close()
    {
        _steps?.Dispose();
        _epochs?.Dispose();
        _steps = _epochs = null;
    }
}
