using ClipTrainer.Training;
using TorchSharp;
using Xunit;
using static TorchSharp.torch;

namespace ClipTrainer.Tests.Training;

/// <summary>
/// Cancellation with checkpointing on: the run stops before the next batch, gives back libtorch's random state, leaks
/// no tensor (checkpoint writing and resuming included) and leaves a checkpoint of the last finished step.
/// </summary>
[Collection(TorchSharpTrainingCollection.Name)]
public sealed class CancellationTests : IDisposable
{
    private readonly string _root = Directory.CreateTempSubdirectory("cliptrainer-cancel-").FullName;

    public void Dispose() => Directory.Delete(_root, recursive: true);

    private sealed class CancelAt(CancellationTokenSource source, long step) : TrainingCallback
    {
        public long LastStepBegun { get; private set; }

        public override void OnBatchStart(TrainingState state, ClipTrainer.Data.SequenceBatch batch) => LastStepBegun = state.GlobalStep + 1;

        public override void OnAfterOptimizerStep(TrainingState state, ClipTrainer.Clipping.GradientClipReport report)
        {
            if (state.GlobalStep == step) source.Cancel();
        }
    }

    [Fact]
    public void Run_CancelledWithCheckpointing_StopsWithinOneBatchRestoresTheGeneratorAndLeaksNoTensor()
    {
        using var model = CheckpointScenario.NewModel();
        var (training, validation) = (CheckpointScenario.Training, CheckpointScenario.Validation);
        // Warm-up: the model makes some tensors lazily on its first run, which are no leak.
        SequenceTrainingLoop.Run(model, training, validation, CheckpointScenario.Settings(Path.Combine(_root, "warm-up")));
        using var cancel = new CancellationTokenSource();
        var probe = new CancelAt(cancel, step: 5);
        var settings = CheckpointScenario.Settings(Path.Combine(_root, "run"));
        settings.CancellationToken = cancel.Token;
        settings.Callbacks.Add(probe);
        manual_seed(42);
        using var expected = rand(3);
        manual_seed(42);
        long live = DisposeScopeManager.Statistics.ThreadTotalLiveCount;

        Assert.Throws<OperationCanceledException>(() => SequenceTrainingLoop.Run(model, training, validation, settings));

        Assert.Equal(live, DisposeScopeManager.Statistics.ThreadTotalLiveCount);
        using var after = rand(3);
        Assert.Equal(expected.data<float>().ToArray(), after.data<float>().ToArray());
        Assert.Equal(5, probe.LastStepBegun); // step 6 never began
        Assert.True(Directory.Exists(Path.Combine(_root, "run", "checkpoint-000000000005")));

        var resumed = CheckpointScenario.Settings(Path.Combine(_root, "run"));
        resumed.Checkpoints!.ResumeFromLatest = true;
        resumed.MaximumNumberOfEpochs = 1;
        live = DisposeScopeManager.Statistics.ThreadTotalLiveCount;
        var history = SequenceTrainingLoop.Run(model, training, validation, resumed);
        Assert.Equal(live, DisposeScopeManager.Statistics.ThreadTotalLiveCount);
        Assert.Equal(Enumerable.Range(1, 9), history.Steps.Select(s => (int)s.Step)); // steps 1-5 from the checkpoint, 6-9 run
    }
}
