using System.Diagnostics;
using ClipTrainer.Clipping;
using ClipTrainer.Training;
using Xunit;

namespace ClipTrainer.Tests.Training;

/// <summary>
/// A run interrupted and resumed from a checkpoint ends bit-identical to one that was never interrupted: stopped by
/// cancellation between steps, resumed from a periodic checkpoint in the middle of an epoch or at an epoch's end, and
/// killed with SIGKILL in a child process.
/// </summary>
[Collection(TorchSharpTrainingCollection.Name)]
public sealed class CheckpointResumeTests : IDisposable
{
    private readonly string _root = Directory.CreateTempSubdirectory("cliptrainer-resume-").FullName;

    public void Dispose() => Directory.Delete(_root, recursive: true);

    private static (Dictionary<string, float[]> Weights, TrainingHistory History) Uninterrupted(Action<TrainingSettings>? vary = null)
    {
        using var model = CheckpointScenario.NewModel();
        var settings = CheckpointScenario.Settings();
        vary?.Invoke(settings);
        var history = SequenceTrainingLoop.Run(model, CheckpointScenario.Training, CheckpointScenario.Validation, settings);
        return (CheckpointScenario.Weights(model), history);
    }

    private static (Dictionary<string, float[]> Weights, TrainingHistory History, string? ResumedFrom) Resume(TrainingSettings settings)
    {
        using var model = CheckpointScenario.NewModel(seed: 99); // other initial weights: the checkpoint must replace them
        var probe = new ResumeProbe();
        settings.Callbacks.Add(probe);
        var history = SequenceTrainingLoop.Run(model, CheckpointScenario.Training, CheckpointScenario.Validation, settings);
        return (CheckpointScenario.Weights(model), history, probe.ResumedFrom);
    }

    private sealed class ResumeProbe : TrainingCallback
    {
        public string? ResumedFrom { get; private set; }

        public override void OnTrainingStart(TrainingState state) => ResumedFrom = state.ResumedFrom;
    }

    private static void AssertSameRun((Dictionary<string, float[]> Weights, TrainingHistory History) expected,
        (Dictionary<string, float[]> Weights, TrainingHistory History, string? ResumedFrom) actual) =>
        AssertSameRun(expected, (actual.Weights, actual.History));

    private static void AssertSameRun((Dictionary<string, float[]> Weights, TrainingHistory History) expected,
        (Dictionary<string, float[]> Weights, TrainingHistory History) actual)
    {
        Assert.Equal(expected.Weights.Keys, actual.Weights.Keys);
        foreach (var (name, values) in expected.Weights) Assert.Equal(values, actual.Weights[name]); // exact: float equality
        Assert.Equal(expected.History.Steps.Select(s => (s.Epoch, s.Step, s.Loss, s.PreClipNorm, s.LearningRate)),
            actual.History.Steps.Select(s => (s.Epoch, s.Step, s.Loss, s.PreClipNorm, s.LearningRate)));
        Assert.Equal(expected.History.Epochs.Select(e => (e.TrainingLoss, e.ValidationLoss, e.Steps)),
            actual.History.Epochs.Select(e => (e.TrainingLoss, e.ValidationLoss, e.Steps)));
        Assert.Equal(expected.History.BestEpoch, actual.History.BestEpoch);
    }

    /// <summary>Cancels the run when the given global step has been taken.</summary>
    private sealed class CancelAfter(CancellationTokenSource source, long step) : TrainingCallback
    {
        public override void OnAfterOptimizerStep(TrainingState state, ClipTrainer.Clipping.GradientClipReport report)
        {
            if (state.GlobalStep == step) source.Cancel();
        }
    }

    [Fact]
    public void Run_CancelledMidEpochThenResumed_EndsBitIdenticalToAnUninterruptedRun()
    {
        var expected = Uninterrupted();
        var directory = Path.Combine(_root, "cancelled");
        using var cancel = new CancellationTokenSource();
        var interrupted = CheckpointScenario.Settings(directory);
        interrupted.CancellationToken = cancel.Token;
        interrupted.Callbacks.Add(new CancelAfter(cancel, step: 12)); // epoch 2, step 3 of 9
        using (var model = CheckpointScenario.NewModel())
            Assert.Throws<OperationCanceledException>(() =>
                SequenceTrainingLoop.Run(model, CheckpointScenario.Training, CheckpointScenario.Validation, interrupted));
        Assert.Equal(["checkpoint-000000000012"], Directory.GetDirectories(directory).Select(Path.GetFileName));

        var resumed = CheckpointScenario.Settings(directory);
        resumed.Checkpoints!.ResumeFromLatest = true;
        AssertSameRun(expected, Resume(resumed));
    }

    /// <summary>
    /// Every optimizer's state (SGD's and RMSprop's momentum buffers, RMSprop's square average, AdamW's moments) and the
    /// stateful rules' windows and moving averages (AutoClip, ZClip) survive a checkpoint: without them the resumed run's
    /// next update differs and the final weights are not equal.
    /// </summary>
    [Theory]
    [InlineData(OptimizerKind.Sgd, ClippingMode.ZClip)]
    [InlineData(OptimizerKind.RmsProp, ClippingMode.AutoClip)]
    [InlineData(OptimizerKind.AdamW, ClippingMode.LocalNorm)]
    public void Run_CancelledAndResumed_OtherOptimizersAndStatefulRules_EndBitIdentical(OptimizerKind optimizer, ClippingMode mode)
    {
        void Vary(TrainingSettings settings)
        {
            settings.Optimizer = optimizer;
            settings.LearningRate = optimizer == OptimizerKind.Sgd ? 0.2 : 0.02; // Momentum stays at its default 0.9
            settings.Clipping = new GradientClippingOptions { Mode = mode, Threshold = 0.5, ZClipWarmupSteps = 3, ZClipThreshold = 1.0 };
        }

        var expected = Uninterrupted(Vary);
        var directory = Path.Combine(_root, $"{optimizer}-{mode}");
        using var cancel = new CancellationTokenSource();
        var interrupted = CheckpointScenario.Settings(directory);
        Vary(interrupted);
        interrupted.CancellationToken = cancel.Token;
        interrupted.Callbacks.Add(new CancelAfter(cancel, step: 13)); // epoch 2, step 4 of 9: past ZClip's warm-up
        using (var model = CheckpointScenario.NewModel())
            Assert.Throws<OperationCanceledException>(() =>
                SequenceTrainingLoop.Run(model, CheckpointScenario.Training, CheckpointScenario.Validation, interrupted));

        var resumed = CheckpointScenario.Settings(directory);
        Vary(resumed);
        resumed.Checkpoints!.ResumeFromLatest = true;
        AssertSameRun(expected, Resume(resumed));
    }

    [Fact]
    public void Run_ResumedFromAPeriodicCheckpoint_EndsBitIdentical_MidEpochAndAtAnEpochEnd()
    {
        var expected = Uninterrupted();
        var directory = Path.Combine(_root, "periodic");
        var writing = CheckpointScenario.Settings(directory);
        writing.Checkpoints!.EverySteps = 7;
        writing.Checkpoints.EveryEpochs = 1;
        writing.Checkpoints.KeepLast = 10;
        using (var model = CheckpointScenario.NewModel())
        {
            var history = SequenceTrainingLoop.Run(model, CheckpointScenario.Training, CheckpointScenario.Validation, writing);
            AssertSameRun(expected, (CheckpointScenario.Weights(model), history)); // writing checkpoints changes nothing
        }

        // Steps 7, 14, 21 (mid-epoch: 9 per epoch), epoch ends at 9, 18, 27.
        Assert.Equal(["checkpoint-000000000007", "checkpoint-000000000009-epoch", "checkpoint-000000000014", "checkpoint-000000000018-epoch",
            "checkpoint-000000000021", "checkpoint-000000000027-epoch"], Directory.GetDirectories(directory).Select(Path.GetFileName).Order(StringComparer.Ordinal));

        foreach (var name in new[] { "checkpoint-000000000014", "checkpoint-000000000009-epoch" })
        {
            var resumed = CheckpointScenario.Settings(Path.Combine(_root, "continued-" + name));
            resumed.Checkpoints!.ResumeFrom = Path.Combine(directory, name);
            AssertSameRun(expected, Resume(resumed));
        }
    }

    [Fact]
    public void Run_KilledMidEpochInAChildProcessThenResumed_EndsBitIdentical()
    {
        var directory = Path.Combine(_root, "killed");
        var child = Path.Combine(AppContext.BaseDirectory, "ClipTrainer.CheckpointChild.dll");
        var start = new ProcessStartInfo("dotnet") { RedirectStandardError = true, UseShellExecute = false };
        foreach (var argument in new[] { "exec", child, directory, "16" }) start.ArgumentList.Add(argument);
        using var process = Process.Start(start)!;
        var checkpoint = Path.Combine(directory, "checkpoint-000000000016"); // epoch 2 after 7 of its 9 steps
        var watch = Stopwatch.StartNew();
        while (!Directory.Exists(checkpoint) && !process.HasExited && watch.Elapsed < TimeSpan.FromSeconds(60)) Thread.Sleep(20);
        Assert.True(Directory.Exists(checkpoint), $"The child wrote no checkpoint at step 16 (exited: {process.HasExited}): {(process.HasExited ? process.StandardError.ReadToEnd() : "")}");
        process.Kill(); // SIGKILL on Linux: no finally block, no flush
        process.WaitForExit();

        var expected = Uninterrupted();
        var resumed = CheckpointScenario.Settings(directory);
        resumed.Checkpoints!.ResumeFromLatest = true;
        var actual = Resume(resumed);
        AssertSameRun(expected, actual);
        // Killed right after the rename, maybe before the pruning to KeepLast = 2: no checkpoint is lost either way.
        Assert.Contains("checkpoint-000000000016", Directory.GetDirectories(directory).Select(Path.GetFileName));
        Assert.Equal(directory + "/checkpoint-000000000016", actual.ResumedFrom);
    }
}
