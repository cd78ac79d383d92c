using ClipTrainer.Clipping;
using ClipTrainer.Data;
using ClipTrainer.Modeling;
using ClipTrainer.Training;
using Xunit;
using static ClipTrainer.Tests.SequenceTestData;

namespace ClipTrainer.Tests.Training;

/// <summary>
/// The training loop on its own (public API: a model, a dataset, settings): what the history records about clipping,
/// gradient norms and steps, progress callbacks, cancellation, non-finite gradients and argument checks.
/// </summary>
[Collection(TorchSharpTrainingCollection.Name)]
public class SequenceTrainingLoopTests
{
    private static SequenceModel NewModel(int outputSize = 1, long seed = 7) => SequenceModel.Create(new SequenceModelOptions
    {
        CellType = RecurrentCellType.Gru,
        InputSize = InputSize,
        HiddenSize = 8,
        OutputSize = outputSize,
    }, seed);

    private static SequenceDataset RegressionData(int count, int seed)
    {
        var rows = Regression(count, seed);
        return SequenceDataset.CreateRegression(InputSize, rows.Select(r => r.Features).ToList(), rows.Select(r => r.Label).ToList());
    }

    private static TrainingSettings Settings(ClippingMode mode = ClippingMode.GlobalNorm, double threshold = 1.0) => new()
    {
        MaximumNumberOfEpochs = 3,
        BatchSize = 10,
        LearningRate = 0.02,
        Clipping = new GradientClippingOptions { Mode = mode, Threshold = threshold },
    };

    private static TrainingHistory Run(TrainingSettings settings, int rows = 100, SequenceDataset? validation = null)
    {
        using var model = NewModel();
        return SequenceTrainingLoop.Run(model, RegressionData(rows, seed: 1), validation, settings);
    }

    [Fact]
    public void Run_AfterTraining_LeavesNoGradientsAndTheGlobalGeneratorAsItWas()
    {
        using var model = NewModel();
        TorchSharp.torch.manual_seed(123);
        using var expected = TorchSharp.torch.rand(4);
        TorchSharp.torch.manual_seed(123);

        SequenceTrainingLoop.Run(model, RegressionData(40, seed: 1), null, Settings());
        using var after = TorchSharp.torch.rand(4);

        Assert.All(model.parameters(), p => Assert.Null(p.grad));
        Assert.Equal(expected.data<float>().ToArray(), after.data<float>().ToArray());
    }

    [Fact]
    public void Run_NumberOfThreads_AppliesWhileTrainingAndRestoresAfterwards()
    {
        int before = TorchSharp.torch.get_num_threads();
        int wanted = before == 3 ? 2 : 3;
        var seen = new List<int>();
        var settings = Settings();
        settings.NumberOfThreads = wanted;
        settings.EpochProgress = new ThreadCountProbe(seen);

        Run(settings, rows: 20);

        Assert.All(seen, threads => Assert.Equal(wanted, threads));
        Assert.NotEmpty(seen);
        Assert.Equal(before, TorchSharp.torch.get_num_threads());
    }

    private sealed class ThreadCountProbe(List<int> seen) : IProgress<EpochRecord>
    {
        public void Report(EpochRecord value) => seen.Add(TorchSharp.torch.get_num_threads());
    }

    [Fact]
    public void Run_DataOfAnotherTaskOrShape_ThrowsArgumentExceptionNamingBoth()
    {
        using var model = NewModel(outputSize: 1);
        var rows = Multiclass(20, seed: 1);
        var multiclass = SequenceDataset.CreateMulticlass(InputSize, 3, rows.Select(r => r.Features).ToList(),
            rows.Select(r => (long)Array.IndexOf(ClassNames, r.Label)).ToList());

        var exception = Assert.Throws<ArgumentException>(() => SequenceTrainingLoop.Run(model, multiclass, null, Settings()));

        Assert.Equal("training", exception.ParamName);
        Assert.Contains("(MulticlassClassification, InputSize 3, needing 3 output(s)) does not fit the model (InputSize 3, OutputSize 1)", exception.Message);
    }

    [Fact]
    public void Run_TinyThreshold_ClipsEveryStep()
    {
        var history = Run(Settings(ClippingMode.GlobalNorm, threshold: 1e-6));

        Assert.All(history.Epochs, e => Assert.Equal(1.0, e.ClippedFraction));
    }

    [Theory]
    [InlineData(ClippingMode.LocalNorm)]
    [InlineData(ClippingMode.Value)]
    [InlineData(ClippingMode.GlobalThenLocal)]
    public void Run_TinyThresholdInOtherModes_ClipsEveryStep(ClippingMode mode)
    {
        var history = Run(Settings(mode, threshold: 1e-6));

        Assert.All(history.Epochs, e => Assert.Equal(1.0, e.ClippedFraction));
    }

    [Fact]
    public void Run_ClippingModeNone_ClipsNoStepButStillMeasuresNorms()
    {
        var history = Run(Settings(ClippingMode.None));

        Assert.All(history.Epochs, e => Assert.Equal(0.0, e.ClippedFraction));
        Assert.All(history.Epochs, e => Assert.True(e.MeanGradientNorm > 0, $"mean norm {e.MeanGradientNorm}"));
    }

    [Fact]
    public void Run_ThresholdInsideTheNormRange_ClipsSomeStepsButNotAll()
    {
        // The unclipped run's first-step norms lie on both sides of their mean, so a threshold there clips only part.
        var unclipped = Run(Settings(ClippingMode.None));
        double threshold = unclipped.Epochs[0].MeanGradientNorm;

        var history = Run(Settings(ClippingMode.GlobalNorm, threshold));

        Assert.All(history.Epochs, e => Assert.InRange(e.ClippedFraction, 0.0, 1.0));
        Assert.Contains(history.Epochs, e => e.ClippedFraction is > 0 and < 1);
    }

    [Fact]
    public void Run_AnyRun_MeanGradientNormAtMostMaximumAndStepsCounted()
    {
        var history = Run(Settings(), rows: 95);

        Assert.All(history.Epochs, e =>
        {
            Assert.True(e.MeanGradientNorm <= e.MaximumGradientNorm, $"mean {e.MeanGradientNorm} > max {e.MaximumGradientNorm}");
            Assert.Equal(10, e.Steps); // 95 rows in batches of 10
            Assert.Equal(0, e.SkippedSteps);
            Assert.True(double.IsFinite(e.TrainingLoss));
            Assert.True(e.Duration > TimeSpan.Zero);
        });
        Assert.Equal([1, 2, 3], history.Epochs.Select(e => e.Epoch));
    }

    [Fact]
    public void Run_ProgressCallbacks_ReportEveryEpochAndEveryIntervalOfSteps()
    {
        var epochs = new List<EpochRecord>();
        var steps = new List<TrainingStepRecord>();
        var settings = Settings();
        settings.StepReportInterval = 3;
        settings.EpochProgress = new Recorder<EpochRecord>(epochs);
        settings.StepProgress = new Recorder<TrainingStepRecord>(steps);

        var history = Run(settings);

        Assert.Equal(history.Epochs, epochs);
        // 10 steps per epoch, a report at steps 3, 6 and 9 of each of 3 epochs.
        Assert.Equal([(1, 3), (1, 6), (1, 9), (2, 3), (2, 6), (2, 9), (3, 3), (3, 6), (3, 9)], steps.Select(s => (s.Epoch, s.StepInEpoch)));
        Assert.Equal([3L, 6, 9, 13, 16, 19, 23, 26, 29], steps.Select(s => s.Step));
        Assert.All(steps, s => Assert.InRange(s.PreClipNorm, 0, history.Epochs[s.Epoch - 1].MaximumGradientNorm * (1 + 1e-6)));
        // The reported records are the history's own records of those steps.
        Assert.All(steps, s => Assert.Equal(history.Steps[(int)s.Step - 1].PreClipNorm, s.PreClipNorm));
        Assert.All(steps, s => Assert.True(s.Loss > 0 && double.IsFinite(s.Loss)));
    }

    [Fact]
    public void Run_WithoutShuffling_SeedDoesNotChangeTheRun()
    {
        var first = Settings();
        first.Shuffle = false;
        first.Seed = 1;
        var second = Settings();
        second.Shuffle = false;
        second.Seed = 2;
        var shuffled = Settings();
        shuffled.Seed = 2;

        var a = Run(first).Epochs.Select(e => e.TrainingLoss);
        var b = Run(second).Epochs.Select(e => e.TrainingLoss);
        var c = Run(shuffled).Epochs.Select(e => e.TrainingLoss);

        Assert.Equal(a, b);
        Assert.NotEqual(a, c);
    }

    [Fact]
    public void Run_L1Penalty_IsNotPartOfTheReportedTrainingLoss()
    {
        // With a vanishing learning rate the weights stay put, so the data loss of the first epoch is the same with and
        // without a large L1 term; only the objective (and so the gradients) differ.
        var plain = Settings(ClippingMode.None);
        plain.LearningRate = 1e-12;
        plain.MaximumNumberOfEpochs = 1;
        var penalized = Settings(ClippingMode.None);
        penalized.LearningRate = 1e-12;
        penalized.MaximumNumberOfEpochs = 1;
        penalized.L1Penalty = 10;

        var withoutPenalty = Run(plain).Epochs[0];
        var withPenalty = Run(penalized).Epochs[0];

        Assert.Equal(withoutPenalty.TrainingLoss, withPenalty.TrainingLoss, 1e-6);
        Assert.True(withPenalty.MeanGradientNorm > 2 * withoutPenalty.MeanGradientNorm,
            $"gradient norm {withPenalty.MeanGradientNorm} with L1, {withoutPenalty.MeanGradientNorm} without");
    }

    [Fact]
    public void Run_NonFiniteFeaturesUnderErrorPolicy_ThrowsInvalidOperationException()
    {
        var rows = Regression(20, seed: 1);
        rows[4].Features[2] = float.NaN;
        var data = SequenceDataset.CreateRegression(InputSize, rows.Select(r => r.Features).ToList(), rows.Select(r => r.Label).ToList());
        using var model = NewModel();

        Assert.Throws<InvalidOperationException>(() => SequenceTrainingLoop.Run(model, data, null, Settings()));
    }

    [Fact]
    public void Run_NonFiniteFeaturesUnderSkipStepPolicy_SkipsThoseStepsAndLeavesTheWeights()
    {
        var rows = Regression(20, seed: 1);
        rows.ForEach(r => r.Features[0] = float.NaN); // every batch is poisoned
        var data = SequenceDataset.CreateRegression(InputSize, rows.Select(r => r.Features).ToList(), rows.Select(r => r.Label).ToList());
        var settings = Settings();
        settings.Clipping.NonFinitePolicy = NonFiniteGradientPolicy.SkipStep;
        using var model = NewModel();
        var before = model.parameters().Select(p => p.detach().clone()).ToList();

        var history = SequenceTrainingLoop.Run(model, data, null, settings);

        Assert.All(history.Epochs, e => Assert.Equal(e.Steps, e.SkippedSteps));
        Assert.All(history.Epochs, e => Assert.True(double.IsNaN(e.TrainingLoss)));
        var after = model.parameters().ToList();
        for (int i = 0; i < before.Count; i++)
            Assert.True(before[i].eq(after[i]).all().item<bool>(), $"parameter {i} changed");
    }

    [Fact]
    public void Run_ValidationData_EveryEpochHasValidationLossAndMetric()
    {
        var history = Run(Settings(), validation: RegressionData(30, seed: 2));

        Assert.All(history.Epochs, e => Assert.True(e.ValidationLoss > 0));
        Assert.All(history.Epochs, e => Assert.NotNull(e.ValidationMetric));
        Assert.Equal("RSquared", history.ValidationMetricName);
        Assert.Equal(3, history.BestEpoch);
    }

    [Fact]
    public void Run_CancelledDuringTraining_ThrowsOperationCanceledAfterTheCurrentEpoch()
    {
        using var cancellation = new CancellationTokenSource();
        var epochs = new List<EpochRecord>();
        var settings = Settings();
        settings.EpochProgress = new Recorder<EpochRecord>(epochs, _ => cancellation.Cancel());
        using var model = NewModel();

        Assert.ThrowsAny<OperationCanceledException>(() =>
            SequenceTrainingLoop.Run(model, RegressionData(50, seed: 1), null, settings, cancellation.Token));

        Assert.Single(epochs);
    }

    [Fact]
    public void Run_EmptyTrainingData_ThrowsArgumentException()
    {
        var empty = SequenceDataset.CreateRegression(InputSize, [], []);
        using var model = NewModel();

        var exception = Assert.Throws<ArgumentException>(() => SequenceTrainingLoop.Run(model, empty, null, Settings()));

        Assert.Equal("training", exception.ParamName);
    }

    [Fact]
    public void Run_EarlyStoppingWithoutValidationData_ThrowsArgumentException()
    {
        var settings = Settings();
        settings.EarlyStoppingPatience = 2;
        using var model = NewModel();

        var exception = Assert.Throws<ArgumentException>(() => SequenceTrainingLoop.Run(model, RegressionData(10, seed: 1), null, settings));

        Assert.Equal("validation", exception.ParamName);
    }

    [Theory]
    [InlineData(nameof(TrainingSettings.MaximumNumberOfEpochs))]
    [InlineData(nameof(TrainingSettings.BatchSize))]
    [InlineData(nameof(TrainingSettings.LearningRate))]
    [InlineData(nameof(TrainingSettings.Momentum))]
    public void Run_SettingOutOfRange_ThrowsNamingTheSetting(string setting)
    {
        var settings = Settings();
        switch (setting)
        {
            case nameof(TrainingSettings.MaximumNumberOfEpochs): settings.MaximumNumberOfEpochs = 0; break;
            case nameof(TrainingSettings.BatchSize): settings.BatchSize = -2; break;
            case nameof(TrainingSettings.LearningRate): settings.LearningRate = double.NaN; break;
            case nameof(TrainingSettings.Momentum): settings.Momentum = 1; break;
        }
        using var model = NewModel();

        var exception = Assert.Throws<ArgumentOutOfRangeException>(() => SequenceTrainingLoop.Run(model, RegressionData(10, seed: 1), null, settings));

        Assert.Equal(setting, exception.ParamName);
    }

    private sealed class Recorder<T>(List<T> records, Action<T>? then = null) : IProgress<T>
    {
        public void Report(T value)
        {
            records.Add(value);
            then?.Invoke(value);
        }
    }
}
