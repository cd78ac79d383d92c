namespace ClipTrainer.Training;

/// <summary>The <see cref="TrainingSettings.EpochProgress"/> and <see cref="TrainingSettings.StepProgress"/> sinks, as callbacks after the user's.</summary>
internal static class ProgressCallbacks
{
    public static IReadOnlyList<TrainingCallback> Append(TrainingSettings settings)
    {
        var callbacks = settings.Callbacks.ToList();
        if (settings.EpochProgress is { } epochs) callbacks.Add(new EpochReporter(epochs));
        if (settings.StepProgress is { } steps) callbacks.Add(new StepReporter(steps, settings.StepReportInterval));
        return callbacks;
    }

    private sealed class EpochReporter(IProgress<EpochRecord> progress) : TrainingCallback
    {
        public override void OnEpochEnd(TrainingState state, EpochRecord record) => progress.Report(record);
    }

    private sealed class StepReporter(IProgress<TrainingStepRecord> progress, int interval) : TrainingCallback
    {
        // One host read every interval steps: the console wants the value now, not at the next block.
        public override void OnAfterOptimizerStep(TrainingState state, Clipping.GradientClipReport report)
        {
            if (state.StepInEpoch % interval == 0) progress.Report(state.ReadLatestStep());
        }
    }
}
