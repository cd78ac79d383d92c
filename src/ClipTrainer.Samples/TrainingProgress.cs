using System.Diagnostics;
using System.Globalization;
using ClipTrainer.Clipping;
using ClipTrainer.Training;
using Spectre.Console;

namespace ClipTrainer.Samples;

/// <summary>
/// A Spectre.Console progress bar for one training run, fed by the loop's hooks: the bar follows the global step
/// (known on the host, so no synchronisation per step), the description the last epoch's loss. After the run one plain
/// summary line follows, because a redirected Spectre progress writes plain lines (here about one per epoch) but never
/// its final 100 % state.
/// </summary>
/// <remarks>
/// Add the instance to the run's callbacks (<see cref="SequenceTrainerOptions.Callbacks"/> or
/// <see cref="TrainingSettings.Callbacks"/>) before the trainer is made, then train inside <see cref="Run{T}"/>.
/// </remarks>
/// <param name="description">What trains, e.g. "regression (LSTM 32)".</param>
internal sealed class TrainingProgress(string description) : TrainingCallback
{
    private ProgressTask? _task;
    private int _epochs;
    private long _steps;
    private double _lastLoss = double.NaN;

    /// <summary>Runs <paramref name="train"/> under a live progress bar and prints the summary line after it.</summary>
    /// <typeparam name="T">What training returns.</typeparam>
    /// <param name="train">The training call; it must use this callback.</param>
    /// <returns>What <paramref name="train"/> returned.</returns>
    public T Run<T>(Func<T> train)
    {
        var watch = Stopwatch.StartNew();
        var result = AnsiConsole.Progress()
            .AutoClear(false)
            .Columns(new TaskDescriptionColumn { Alignment = Justify.Left }, new ProgressBarColumn(), new PercentageColumn(), new ElapsedTimeColumn())
            .Start(context =>
            {
                _task = context.AddTask(Markup.Escape(description), maxValue: 1);
                try
                {
                    return train();
                }
                finally
                {
                    _task.StopTask();
                    _task = null;
                }
            });
        SampleConsole.Line(string.Create(CultureInfo.InvariantCulture,
            $"{description}: {_epochs} epoch(s), {_steps} steps in {watch.Elapsed.TotalSeconds:F1} s, last epoch's training loss {_lastLoss:F4}"));
        return result;
    }

    /// <inheritdoc/>
    public override void OnTrainingStart(TrainingState state)
    {
        (_epochs, _steps, _lastLoss) = (0, 0, double.NaN);
        if (_task is not null) _task.MaxValue = state.TotalSteps ?? 1;
    }

    /// <inheritdoc/>
    public override void OnAfterOptimizerStep(TrainingState state, GradientClipReport report)
    {
        _steps = state.GlobalStep;
        // A redirected console gets a plain line whenever the value changed since its last refresh: there, move the
        // bar once per epoch, so a log holds about one line per epoch rather than a line per refresh.
        if (_task is not null && state.TotalSteps is not null && AnsiConsole.Profile.Capabilities.Interactive) _task.Value = state.GlobalStep;
    }

    /// <inheritdoc/>
    public override void OnEpochEnd(TrainingState state, EpochRecord record)
    {
        _epochs = record.Epoch;
        _lastLoss = record.TrainingLoss;
        if (_task is null) return;
        _task.Description = Markup.Escape(string.Create(CultureInfo.InvariantCulture,
            $"{description}: epoch {record.Epoch}/{state.Settings.MaximumNumberOfEpochs}, loss {record.TrainingLoss:F4}"));
        _task.Value = state.TotalSteps is null ? (double)record.Epoch / state.Settings.MaximumNumberOfEpochs : state.GlobalStep;
    }

    /// <inheritdoc/>
    public override void OnTrainingEnd(TrainingState state, TrainingHistory history)
    {
        // Early stopping ends before the last step: the bar still ends full.
        if (_task is not null) _task.Value = _task.MaxValue;
    }
}
