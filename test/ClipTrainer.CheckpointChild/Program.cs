using ClipTrainer.Tests.Training;
using ClipTrainer.Training;

// Usage: ClipTrainer.CheckpointChild <checkpoint folder> <step after which to hang>
// Trains the checkpoint scenario with a checkpoint every 4 steps; when the given global step is done (and its
// checkpoint written), the next batch hangs until the parent kills the process.
if (args.Length != 2 || !int.TryParse(args[1], out var hangAfter))
{
    Console.Error.WriteLine("usage: ClipTrainer.CheckpointChild <checkpoint folder> <step after which to hang>");
    return 2;
}

var settings = CheckpointScenario.Settings(args[0]);
settings.Checkpoints!.EverySteps = 4;
settings.Checkpoints.KeepLast = 2;
settings.Callbacks.Add(new HangAfter(hangAfter));
using var model = CheckpointScenario.NewModel();
SequenceTrainingLoop.Run(model, CheckpointScenario.Training, CheckpointScenario.Validation, settings);
Console.Error.WriteLine("The run ended without being killed.");
return 1;

internal sealed class HangAfter(long step) : TrainingCallback
{
    public override void OnBatchStart(TrainingState state, ClipTrainer.Data.SequenceBatch batch)
    {
        if (state.GlobalStep >= step) Thread.Sleep(Timeout.Infinite); // the checkpoint of that step is complete by now
    }
}
