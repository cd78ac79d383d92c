using ClipTrainer.Clipping;
using ClipTrainer.Data;
using ClipTrainer.Tests.Clipping;
using ClipTrainer.Training;
using TorchSharp;
using Xunit;
using static ClipTrainer.Tests.Training.EngineTestKit;
using static TorchSharp.torch;

namespace ClipTrainer.Tests.Training;

/// <summary>
/// The engine's edge cases: records against the live clip reports (small blocks, skipped steps), frozen parameters,
/// stop requests before any batch or at the last one, leaks across epochs, and ML.NET options given to the loop.
/// </summary>
[Collection(TorchSharpTrainingCollection.Name)]
public sealed class TrainingEdgeCaseTests : IDisposable
{
    private readonly string _directory = Path.Combine(Path.GetTempPath(), "cliptrainer-edge-" + Guid.NewGuid().ToString("N"));

    public void Dispose()
    {
        if (Directory.Exists(_directory)) Directory.Delete(_directory, recursive: true);
    }

    [Fact]
    public void Run_SmallBlocksAndSkippedSteps_EveryRecordIsTheLiveReportOfItsStep()
    {
        var poison = new PoisonGradients(steps: [1, 2, 6]);
        var capture = new CaptureReports();
        var settings = RegressionSettings(ClippingMode.GlobalThenLocal, threshold: 0.2);
        settings.Clipping.NonFinitePolicy = NonFiniteGradientPolicy.SkipStep;
        settings.StepRecordBlockSize = 2;
        settings.StepReportInterval = 3;
        settings.StepProgress = new Progress<TrainingStepRecord>(_ => { });
        settings.Callbacks.Add(poison);
        settings.Callbacks.Add(capture);
        settings.Callbacks.Add(new HistoryFilesCallback(_directory));
        using var model = new LastStepLinear(2, 1);

        var history = SequenceTrainingLoop.Run(model, SequenceTask.Regression, RandomRegression(2, batchCount: 7, batchSize: 4, time: 2, seed: 13), null, settings);

        Assert.Equal(14, history.Steps.Count);
        for (int i = 0; i < 14; i++)
        {
            var (pre, post, clipped, skipped) = capture.Seen[i];
            var record = history.Steps[i];
            Assert.Equal(i + 1, record.Step);
            Assert.Equal(skipped, record.Skipped);
            Assert.Equal(pre, record.PreClipNorm);
            Assert.Equal(post, record.PostClipNorm);
            Assert.Equal(clipped, record.Clipped);
            // Skipped steps apply no coefficient, before the first applied step as after it.
            Assert.Equal(2, record.StageCoefficients.Count);
            if (skipped) Assert.All(record.StageCoefficients, c => Assert.True(double.IsNaN(c)));
        }
        Assert.Equal([true, true, false, false, false, true], history.Steps.Take(6).Select(s => s.Skipped));
        // The live file has the stage columns although the first block held only skipped steps, and equals Save's.
        var saved = Path.Combine(_directory, "saved");
        history.Save(saved);
        Assert.Equal(File.ReadAllLines(Path.Combine(saved, "history.csv")), File.ReadAllLines(Path.Combine(_directory, "history.csv")));
        Assert.Contains("coefficient/LocalNorm", File.ReadAllLines(Path.Combine(_directory, "history.csv"))[0]);
        Assert.Equal("NaN", File.ReadAllLines(Path.Combine(_directory, "history.csv"))[1].Split(',')[4]); // a poisoned step's norm
    }

    [Theory]
    [InlineData(GradientNormDetail.Parameter)]
    [InlineData(GradientNormDetail.Layer)]
    public void Run_FrozenParameter_RecordsTheNormsOfTheTrainableOnes(GradientNormDetail detail)
    {
        using var model = new TwoHeads();
        model.Frozen.weight!.requires_grad = false;
        model.Frozen.bias!.requires_grad = false;
        var settings = RegressionSettings(ClippingMode.None);
        settings.RecordGradientNorms = detail;

        var history = SequenceTrainingLoop.Run(model, SequenceTask.Regression, RandomRegression(2, batchCount: 3, batchSize: 4, time: 2, seed: 14), null, settings);

        Assert.Equal(detail == GradientNormDetail.Parameter ? ["trained.weight", "trained.bias"] : ["trained"], history.NormGroupNames);
        Assert.All(history.Steps, s => Assert.Equal(s.PreClipNorm, Math.Sqrt(s.GroupNorms.Sum(n => n * n)), 1e-6 * s.PreClipNorm));
    }

    [Fact]
    public void Run_ParameterTheModelNeverUses_IsNotMovedByWeightDecay()
    {
        using var model = new TwoHeads { UseFrozen = false };
        var before = model.Frozen.weight!.detach().clone();
        var settings = RegressionSettings(ClippingMode.GlobalNorm);
        settings.WeightDecay = 0.1;
        settings.MaximumNumberOfEpochs = 3;

        SequenceTrainingLoop.Run(model, SequenceTask.Regression, RandomRegression(2, batchCount: 3, batchSize: 4, time: 2, seed: 21), null, settings);

        Assert.True(model.Frozen.weight!.detach().eq(before).all().item<bool>(), "an unused parameter moved: it was given a gradient");
    }

    [Fact]
    public void Run_WeightsTurnedNaN_TheHistorySaysItDiverged()
    {
        var settings = RegressionSettings();
        settings.Clipping.NonFinitePolicy = NonFiniteGradientPolicy.SkipStep; // the run goes on, stepping nothing
        settings.Callbacks.Add(new PoisonWeightsAt(step: 3));
        using var model = new LastStepLinear(2, 1);

        var history = SequenceTrainingLoop.Run(model, SequenceTask.Regression, RandomRegression(2, 4, 4, 2, seed: 22), null, settings);

        Assert.True(history.Diverged);
        Assert.True(history.HasNonFiniteWeights);
        Assert.Equal(5, history.NonFiniteLossSteps); // steps 4–8 ran on NaN weights
    }

    [Fact]
    public void Run_WeightsTurnedNaNWithStopOnDivergence_ThrowsNamingTheFirstNonFiniteStep()
    {
        var settings = RegressionSettings();
        settings.Clipping.NonFinitePolicy = NonFiniteGradientPolicy.SkipStep;
        settings.StopOnDivergence = true;
        settings.StepRecordBlockSize = 1;
        settings.Callbacks.Add(new PoisonWeightsAt(step: 3));
        using var model = new LastStepLinear(2, 1);

        var exception = Assert.Throws<InvalidOperationException>(() =>
            SequenceTrainingLoop.Run(model, SequenceTask.Regression, RandomRegression(2, 4, 4, 2, seed: 22), null, settings));

        Assert.StartsWith("Training diverged at epoch 1, step 4 (step 4 of the run): the loss is NaN.", exception.Message);
    }

    [Fact]
    public void Run_OrdinaryRun_HasNotDiverged()
    {
        using var model = new LastStepLinear(2, 1);

        var history = SequenceTrainingLoop.Run(model, SequenceTask.Regression, RandomRegression(2, 4, 4, 2, seed: 22), null, RegressionSettings());

        Assert.False(history.Diverged);
        Assert.False(history.HasNonFiniteWeights);
        Assert.Equal(0, history.NonFiniteLossSteps);
    }

    [Fact]
    public void Run_CallbackDropsTheGradients_ViewsComeBackAndTrainingIsUnchanged()
    {
        float[] Train(bool dropGradients, List<bool>? attached = null)
        {
            var settings = RegressionSettings(ClippingMode.GlobalNorm, threshold: 0.3);
            settings.MaximumNumberOfEpochs = 3;
            settings.Callbacks.Add(new DropGradientsAt(dropGradients ? 2 : -1, attached));
            using var model = new LastStepLinear(2, 1);
            model.SetWeights(new float[,] { { 0.3f, -0.2f } }, [0.1f]);
            SequenceTrainingLoop.Run(model, SequenceTask.Regression, RandomRegression(2, 2, 4, 2, seed: 23), null, settings);
            return model.parameters().SelectMany(p => p.detach().data<float>().ToArray()).ToArray();
        }

        var attached = new List<bool>();
        var dropped = Train(dropGradients: true, attached);
        var untouched = Train(dropGradients: false);

        // Step 3 runs on the gradients autograd made afresh; from step 4 on they are the buffer's views again.
        Assert.Equal([true, true, false, true, true, true], attached);
        Gradients.AssertClose(untouched, dropped, relativeTolerance: 1e-6, absoluteTolerance: 1e-7);
    }

    [Fact]
    public void Run_StopRequestedAtTrainingStart_RunsNoEpoch()
    {
        var settings = RegressionSettings();
        settings.Callbacks.Add(new StopIn(onStart: true));
        using var model = new LastStepLinear(2, 1);

        var history = SequenceTrainingLoop.Run(model, SequenceTask.Regression, RandomRegression(2, 3, 4, 2, seed: 15), null, settings);

        Assert.Empty(history.Epochs);
        Assert.Empty(history.Steps);
        Assert.Equal(0, history.BestEpoch);
        Assert.Equal("asked at start", history.StopReason);
        Assert.True(history.StoppedEarly);
    }

    [Fact]
    public void Run_StopRequestedAtTheSecondEpochsStart_KeepsTheFirstEpochOnly()
    {
        var settings = RegressionSettings();
        settings.MaximumNumberOfEpochs = 3;
        settings.Callbacks.Add(new StopIn(onStart: false, epoch: 2));
        using var model = new LastStepLinear(2, 1);

        var history = SequenceTrainingLoop.Run(model, SequenceTask.Regression, RandomRegression(2, 3, 4, 2, seed: 16), null, settings);

        Assert.Equal(1, Assert.Single(history.Epochs).Epoch);
        Assert.Equal(3, history.Steps.Count);
    }

    [Fact]
    public void Run_StopRequestedOnTheLastStep_IsNotAnEarlyStopButKeepsTheReason()
    {
        var settings = RegressionSettings();
        settings.Callbacks.Add(new StopAtGlobalStep(6));
        using var model = new LastStepLinear(2, 1);

        var history = SequenceTrainingLoop.Run(model, SequenceTask.Regression, RandomRegression(2, 3, 4, 2, seed: 17), null, settings);

        Assert.Equal(2, history.Epochs.Count);
        Assert.False(history.StoppedEarly);
        Assert.Equal("at step 6", history.StopReason);
    }

    [Fact]
    public void Run_ManyEpochs_LeaveNoLiveTensorsBehind()
    {
        int Live() => (int)DisposeScopeManager.Statistics.ThreadTotalLiveCount;
        var settings = RegressionSettings();
        settings.MaximumNumberOfEpochs = 3;
        using var model = new LastStepLinear(2, 1);
        SequenceTrainingLoop.Run(model, SequenceTask.Regression, RandomRegression(2, 2, 4, 2, seed: 18), null, settings); // warm-up: lazily made tensors
        int before = Live();

        settings.MaximumNumberOfEpochs = 9;
        SequenceTrainingLoop.Run(model, SequenceTask.Regression, RandomRegression(2, 2, 4, 2, seed: 18), null, settings);

        Assert.Equal(before, Live());
    }

    [Fact]
    public void Run_TrainerOptionsAsSettings_AreCheckedAsSettingsOnly()
    {
        // The ML.NET options are settings too; the loop checks what it uses, not InputSize or the ValidationSet option.
        var options = new SequenceTrainerOptions { MaximumNumberOfEpochs = 2, EarlyStoppingPatience = 1, Schedule = LearningRateSchedule.Constant };
        using var model = new LastStepLinear(2, 1);

        var history = SequenceTrainingLoop.Run(model, SequenceTask.Regression, RandomRegression(2, 2, 4, 2, seed: 19),
            RandomRegression(2, 1, 4, 2, seed: 20), options);

        Assert.NotEmpty(history.Epochs);
    }

    /// <summary>Two linear heads summed; one of them frozen by the test.</summary>
    private sealed class TwoHeads : nn.Module<Tensor, Tensor?, Tensor>
    {
        private readonly TorchSharp.Modules.Linear trained = nn.Linear(2, 1);

        public TwoHeads() : base(nameof(TwoHeads))
        {
            Frozen = nn.Linear(2, 1);
            RegisterComponents();
        }

        public TorchSharp.Modules.Linear Frozen { get; }

        public bool UseFrozen { get; init; } = true;

        public override Tensor forward(Tensor input, Tensor? lengths)
        {
            var last = input.select(1, -1);
            return UseFrozen ? trained.forward(last) + Frozen.forward(last) : trained.forward(last);
        }
    }

    /// <summary>Makes the gradients NaN at the given global steps, so that the SkipStep policy skips them.</summary>
    private sealed class PoisonGradients(long[] steps) : TrainingCallback
    {
        public override void OnAfterBackward(TrainingState state, Tensor loss)
        {
            if (!steps.Contains(state.GlobalStep)) return;
            using var noGrad = no_grad();
            state.Parameters[0].Parameter.grad!.fill_(double.NaN);
        }
    }

    /// <summary>Calls Module.zero_grad() (gradients set to none) after the given step; records whether each step's
    /// gradients are the loop's buffer views when clipped.</summary>
    private sealed class DropGradientsAt(long step, List<bool>? attached) : TrainingCallback
    {
        public override void OnAfterBackward(TrainingState state, Tensor loss) => attached?.Add(state.Contiguous?.IsAttached ?? false);

        public override void OnAfterOptimizerStep(TrainingState state, GradientClipReport report)
        {
            if (state.GlobalStep == step) state.Model.zero_grad();
        }
    }

    /// <summary>Sets the first weight to NaN after the given step's update.</summary>
    private sealed class PoisonWeightsAt(long step) : TrainingCallback
    {
        public override void OnAfterOptimizerStep(TrainingState state, GradientClipReport report)
        {
            if (state.GlobalStep != step) return;
            using var noGrad = no_grad();
            state.Parameters[0].Parameter.fill_(double.NaN);
        }
    }

    /// <summary>Reads each live report on the host, independently of the step log.</summary>
    private sealed class CaptureReports : TrainingCallback
    {
        public List<(double Pre, double Post, bool Clipped, bool Skipped)> Seen { get; } = [];

        public override void OnAfterClip(TrainingState state, GradientClipReport report) =>
            Seen.Add((report.TotalNorm, report.PostClipNorm, report.WasClipped, report.SkipStep));
    }

    private sealed class StopIn(bool onStart, int epoch = 0) : TrainingCallback
    {
        public override void OnTrainingStart(TrainingState state)
        {
            if (onStart) state.RequestStop("asked at start");
        }

        public override void OnEpochStart(TrainingState state)
        {
            if (!onStart && state.Epoch == epoch) state.RequestStop($"asked at the start of epoch {epoch}");
        }
    }

    private sealed class StopAtGlobalStep(long step) : TrainingCallback
    {
        public override void OnAfterOptimizerStep(TrainingState state, GradientClipReport report)
        {
            if (state.GlobalStep == step) state.RequestStop($"at step {step}");
        }
    }
}
