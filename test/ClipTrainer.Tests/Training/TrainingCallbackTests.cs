using ClipTrainer.Clipping;
using ClipTrainer.Data;
using ClipTrainer.Training;
using Xunit;
using static ClipTrainer.Tests.Training.EngineTestKit;
using static TorchSharp.torch;

namespace ClipTrainer.Tests.Training;

/// <summary>The callback seam: the documented hook order, what each hook sees, stopping, and the exception path.</summary>
[Collection(TorchSharpTrainingCollection.Name)]
public class TrainingCallbackTests
{
    [Fact]
    public void Run_Hooks_AreCalledInTheDocumentedOrder()
    {
        var recorder = new Recorder();
        var settings = RegressionSettings();
        settings.Callbacks.Add(recorder);
        using var model = new LastStepLinear(2, 1);

        SequenceTrainingLoop.Run(model, SequenceTask.Regression, RandomRegression(2, batchCount: 2, batchSize: 4, time: 3, seed: 1), null, settings);

        string[] Step(int epoch, int step) => [$"BatchStart {epoch}.{step}", $"AfterBackward {epoch}.{step}", $"AfterClip {epoch}.{step}", $"AfterOptimizerStep {epoch}.{step}"];
        string[] Epoch(int epoch) => [$"EpochStart {epoch}", .. Step(epoch, 1), .. Step(epoch, 2), $"StepRecords {epoch}: 2", $"EpochEnd {epoch}"];
        Assert.Equal(["TrainingStart", .. Epoch(1), .. Epoch(2), "TrainingEnd 2"], recorder.Calls);
    }

    [Fact]
    public void Run_Hooks_SeeUnclippedGradientsAfterBackwardClippedOnesAfterClipAndNewWeightsAfterTheStep()
    {
        var probe = new GradientProbe();
        var settings = RegressionSettings(ClippingMode.GlobalNorm, threshold: 0.01);
        settings.Callbacks.Add(probe);
        using var model = new LastStepLinear(2, 1);

        var history = SequenceTrainingLoop.Run(model, SequenceTask.Regression, RandomRegression(2, batchCount: 3, batchSize: 4, time: 2, seed: 2), null, settings);

        Assert.Equal(6, probe.NormsAfterBackward.Count);
        for (int i = 0; i < 6; i++)
        {
            // The norm the callback measured itself after backward is the clip report's pre-clip norm ...
            Assert.Equal(probe.NormsAfterBackward[i], history.Steps[i].PreClipNorm, 1e-5 * probe.NormsAfterBackward[i]);
            Assert.True(probe.NormsAfterBackward[i] > 0.01, $"step {i}: norm {probe.NormsAfterBackward[i]} does not exceed the threshold");
            // ... after clip the gradients have the threshold's norm, and the step changed the weights.
            Assert.Equal(0.01, probe.NormsAfterClip[i], 1e-6);
            Assert.True(probe.WeightsChanged[i], $"step {i}: the optimizer step left the weights unchanged");
        }
    }

    [Fact]
    public void Run_CallbackRequestsStop_EndsAfterTheCurrentBatchAndClosesTheEpoch()
    {
        var stopper = new StopAt(epoch: 1, step: 3);
        var recorder = new Recorder();
        var settings = RegressionSettings();
        settings.MaximumNumberOfEpochs = 3;
        settings.Callbacks.Add(stopper);
        settings.Callbacks.Add(recorder);
        using var model = new LastStepLinear(2, 1);

        var history = SequenceTrainingLoop.Run(model, SequenceTask.Regression, RandomRegression(2, batchCount: 5, batchSize: 4, time: 2, seed: 3), null, settings);

        Assert.Equal(1, Assert.Single(history.Epochs).Epoch);
        Assert.Equal(3, history.Epochs[0].Steps);
        Assert.Equal(3, history.Steps.Count);
        Assert.True(history.StoppedEarly);
        Assert.Equal("enough at 1.3", history.StopReason);
        Assert.Equal(["EpochEnd 1", "TrainingEnd 1"], recorder.Calls.TakeLast(2));
    }

    [Fact]
    public void Run_HookThrows_EveryCallbackSeesTheExceptionThenItPropagates()
    {
        var failing = new ThrowAfterClip(step: 2);
        var recorder = new Recorder();
        var settings = RegressionSettings();
        settings.Callbacks.Add(failing);
        settings.Callbacks.Add(recorder);
        using var model = new LastStepLinear(2, 1);

        var thrown = Assert.Throws<InvalidOperationException>(() =>
            SequenceTrainingLoop.Run(model, SequenceTask.Regression, RandomRegression(2, batchCount: 4, batchSize: 4, time: 2, seed: 4), null, settings));

        Assert.Same(thrown, failing.Seen);
        Assert.Same(thrown, recorder.Exception);
        Assert.DoesNotContain(recorder.Calls, c => c.StartsWith("TrainingEnd", StringComparison.Ordinal));
        // The failing callback comes first, so the recorder never saw step 2's clip; step 1's pending record is delivered before OnException.
        Assert.Equal(["AfterBackward 1.2", "StepRecords 1: 1"], recorder.Calls.TakeLast(2));
    }

    [Fact]
    public void Run_CancelledInAHook_StopsBeforeTheNextBatchAndReportsTheCancellation()
    {
        using var cancellation = new CancellationTokenSource();
        var recorder = new Recorder { OnBatch = (epoch, step) => { if (step == 2) cancellation.Cancel(); } };
        var settings = RegressionSettings();
        settings.Callbacks.Add(recorder);
        using var model = new LastStepLinear(2, 1);

        Assert.ThrowsAny<OperationCanceledException>(() =>
            SequenceTrainingLoop.Run(model, SequenceTask.Regression, RandomRegression(2, batchCount: 5, batchSize: 4, time: 2, seed: 5), null, settings, cancellation.Token));

        Assert.IsAssignableFrom<OperationCanceledException>(recorder.Exception);
        Assert.Equal(2, recorder.Calls.Count(c => c.StartsWith("AfterOptimizerStep", StringComparison.Ordinal))); // step 2 finished, step 3 never began
    }

    [Fact]
    public void Fit_CallbacksOnTheTrainerOptions_ReachTheLoopOncePerFit()
    {
        var recorder = new Recorder();
        var options = SequenceTestData.SmallOptions(maximumNumberOfEpochs: 2);
        options.BatchSize = 10;
        options.Callbacks.Add(recorder);
        var mlContext = new Microsoft.ML.MLContext(seed: 1);
        var data = mlContext.Data.LoadFromEnumerable(SequenceTestData.Regression(30, seed: 1));
        var trainer = mlContext.Regression.Trainers.ClipTrainer(options);

        trainer.Fit(data).Dispose();
        trainer.Fit(data).Dispose();

        Assert.Equal(2, recorder.Calls.Count(c => c == "TrainingStart"));
        Assert.Equal(2 * 2 * 3, recorder.Calls.Count(c => c.StartsWith("AfterClip", StringComparison.Ordinal)));
    }

    [Fact]
    public void Fit_CustomRuleInTheTrainerOptions_IsMadeOncePerFitAndAppliedEveryStep()
    {
        var rules = new List<HalvingRule>();
        var options = SequenceTestData.SmallOptions(maximumNumberOfEpochs: 1);
        options.BatchSize = 10;
        options.Clipping = new GradientClippingOptions { Mode = ClippingMode.Custom, RuleFactory = () => { var rule = new HalvingRule(); rules.Add(rule); return rule; } };
        var mlContext = new Microsoft.ML.MLContext(seed: 1);
        var data = mlContext.Data.LoadFromEnumerable(SequenceTestData.Regression(30, seed: 1));

        using var model = mlContext.Regression.Trainers.ClipTrainer(options).Fit(data);

        Assert.Equal(3, Assert.Single(rules).Calls);
        Assert.Equal(["Halving"], model.History.StageNames);
        Assert.All(model.History.Steps, s => Assert.Equal(s.PreClipNorm / 2, s.PostClipNorm, 1e-9 * s.PreClipNorm));
    }

    /// <summary>Halves every gradient, and says so through the context so the post-clip norm needs no new pass.</summary>
    private sealed class HalvingRule : IGradientClippingRule
    {
        public int Calls { get; private set; }
        public string Name => "Halving";

        public IReadOnlyList<GradientClipStage> Apply(GradientClipContext context)
        {
            Calls++;
            var half = tensor(0.5, ScalarType.Float64);
            foreach (var gradient in context.Gradients) gradient.mul_(half);
            context.MarkScaled(half);
            return [new GradientClipStage(Name, ["(all)"], zeros(1, ScalarType.Float64), half.reshape(1), tensor(true))];
        }
    }

    private sealed class Recorder : TrainingCallback
    {
        public List<string> Calls { get; } = [];
        public Exception? Exception { get; private set; }
        public Action<int, int>? OnBatch { get; init; }

        public override void OnTrainingStart(TrainingState state) => Calls.Add("TrainingStart");
        public override void OnEpochStart(TrainingState state) => Calls.Add($"EpochStart {state.Epoch}");
        public override void OnBatchStart(TrainingState state, SequenceBatch batch)
        {
            Calls.Add($"BatchStart {state.Epoch}.{state.StepInEpoch}");
            OnBatch?.Invoke(state.Epoch, state.StepInEpoch);
        }
        public override void OnAfterBackward(TrainingState state, Tensor loss) => Calls.Add($"AfterBackward {state.Epoch}.{state.StepInEpoch}");
        public override void OnAfterClip(TrainingState state, GradientClipReport report) => Calls.Add($"AfterClip {state.Epoch}.{state.StepInEpoch}");
        public override void OnAfterOptimizerStep(TrainingState state, GradientClipReport report) => Calls.Add($"AfterOptimizerStep {state.Epoch}.{state.StepInEpoch}");
        public override void OnStepRecords(TrainingState state, IReadOnlyList<TrainingStepRecord> records) => Calls.Add($"StepRecords {state.Epoch}: {records.Count}");
        public override void OnEpochEnd(TrainingState state, EpochRecord record) => Calls.Add($"EpochEnd {record.Epoch}");
        public override void OnTrainingEnd(TrainingState state, TrainingHistory history) => Calls.Add($"TrainingEnd {history.Epochs.Count}");
        public override void OnException(TrainingState state, Exception exception) => Exception = exception;
    }

    /// <summary>Measures the gradients itself (in float64 on the host) and snapshots the weights around the step.</summary>
    private sealed class GradientProbe : TrainingCallback
    {
        private float[] _before = [];
        public List<double> NormsAfterBackward { get; } = [];
        public List<double> NormsAfterClip { get; } = [];
        public List<bool> WeightsChanged { get; } = [];

        public override void OnAfterBackward(TrainingState state, Tensor loss) => NormsAfterBackward.Add(HostNorm(state, p => p.grad!));

        public override void OnAfterClip(TrainingState state, GradientClipReport report)
        {
            NormsAfterClip.Add(HostNorm(state, p => p.grad!));
            _before = Flatten(state, p => p);
        }

        public override void OnAfterOptimizerStep(TrainingState state, GradientClipReport report) =>
            WeightsChanged.Add(!Flatten(state, p => p).SequenceEqual(_before));

        private static double HostNorm(TrainingState state, Func<TorchSharp.Modules.Parameter, Tensor> pick) =>
            Math.Sqrt(Flatten(state, pick).Sum(v => (double)v * v));

        private static float[] Flatten(TrainingState state, Func<TorchSharp.Modules.Parameter, Tensor> pick) =>
            state.Parameters.SelectMany(p => pick(p.Parameter).detach().cpu().data<float>().ToArray()).ToArray();
    }

    private sealed class StopAt(int epoch, int step) : TrainingCallback
    {
        public override void OnAfterOptimizerStep(TrainingState state, GradientClipReport report)
        {
            if (state.Epoch == epoch && state.StepInEpoch == step) state.RequestStop($"enough at {epoch}.{step}");
        }
    }

    private sealed class ThrowAfterClip(int step) : TrainingCallback
    {
        public Exception? Seen { get; private set; }

        public override void OnAfterClip(TrainingState state, GradientClipReport report)
        {
            if (state.GlobalStep == step) throw new InvalidOperationException($"callback failed at step {step}");
        }

        public override void OnException(TrainingState state, Exception exception) => Seen = exception;
    }
}
