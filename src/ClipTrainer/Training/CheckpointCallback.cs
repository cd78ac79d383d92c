using System.Diagnostics;
using ClipTrainer.Clipping;

namespace ClipTrainer.Training;

/// <summary>
/// Writes the checkpoints <see cref="TrainingSettings.Checkpoints"/> asks for: after a step (every N steps or minutes),
/// at an epoch's end (every N epochs), and when the run is cancelled between two steps. Runs after every other
/// callback, so their epoch-end work is in the state it saves.
/// </summary>
internal sealed class CheckpointCallback(CheckpointOptions options) : TrainingCallback
{
    private readonly Stopwatch _sinceLast = Stopwatch.StartNew();

    /// <summary>Gets the folder of the newest checkpoint this run wrote, or null.</summary>
    public string? Latest { get; private set; }

    public override void OnAfterOptimizerStep(TrainingState state, GradientClipReport report)
    {
        var bySteps = options.EverySteps is int steps && state.GlobalStep % steps == 0;
        var byTime = options.EveryMinutes is double minutes && _sinceLast.Elapsed.TotalMinutes >= minutes;
        if (bySteps || byTime) Save(state);
    }

    public override void OnEpochEnd(TrainingState state, EpochRecord record)
    {
        if (options.EveryEpochs is int epochs && state.Epoch % epochs == 0) Save(state);
    }

    public override void OnException(TrainingState state, Exception exception)
    {
        // Cancellation is checked between steps, where the state is whole; any other failure (or a cancellation thrown
        // by a hook inside a step) leaves a half-done step, so the last periodic checkpoint stays the one to resume.
        if (exception is OperationCanceledException && !state.InStep) Save(state);
    }

    private void Save(TrainingState state)
    {
        Latest = TrainingCheckpoint.Write(state, options.Directory!, options.KeepLast);
        _sinceLast.Restart();
    }
}
