using ClipTrainer.Clipping;
using ClipTrainer.Data;
using ClipTrainer.Training;
using Xunit;
using static ClipTrainer.Tests.Training.EngineTestKit;

namespace ClipTrainer.Tests.Training;

/// <summary>
/// The loop through its ports (any module from (features, lengths) to outputs, any batch source): the order clip →
/// step checked against a hand computation, the per-step records, and the checks a port's data gets.
/// </summary>
[Collection(TorchSharpTrainingCollection.Name)]
public class SequenceTrainingLoopPortTests
{
    [Fact]
    public void Run_OneSgdStep_EqualsWeightsMinusLearningRateTimesClipCoefficientTimesGradient()
    {
        // Model y = w·x + b on the last (only) step; two rows; MSE. By hand: residuals r = (w·x + b) − y are
        // (0.1 − 1, 1.85 + 2) = (−0.9, 3.85); with the mean over 2 rows, ∂L/∂w = Σ rᵢ·xᵢ = (10.65, −5.65), ∂L/∂b = Σ rᵢ = 2.95.
        float[][] rows = [[1f, 2f], [3f, -1f]];
        using var model = new LastStepLinear(2, 1);
        model.SetWeights(new float[,] { { 0.5f, -0.25f } }, [0.1f]);
        var source = new FixedBatches(2, [(rows, [1f, -2f])]);
        var settings = RegressionSettings(ClippingMode.GlobalNorm, threshold: 0.5);
        settings.Optimizer = OptimizerKind.Sgd;
        settings.Momentum = 0;
        settings.LearningRate = 0.1;
        settings.MaximumNumberOfEpochs = 1;

        var history = SequenceTrainingLoop.Run(model, SequenceTask.Regression, source, null, settings);

        double[] gradient = [10.65, -5.65, 2.95];
        double norm = Math.Sqrt(gradient.Sum(g => g * g));
        double c = 0.5 / (norm + 1e-6);
        double[] expected = [0.5 - 0.1 * c * gradient[0], -0.25 - 0.1 * c * gradient[1], 0.1 - 0.1 * c * gradient[2]];
        var actual = model.parameters().SelectMany(p => p.detach().data<float>().ToArray()).Select(v => (double)v).ToArray();
        Assert.Equal(expected[0], actual[0], 1e-6);
        Assert.Equal(expected[1], actual[1], 1e-6);
        Assert.Equal(expected[2], actual[2], 1e-6);
        var step = Assert.Single(history.Steps);
        Assert.Equal(norm, step.PreClipNorm, 1e-5);
        Assert.Equal(0.5, step.PostClipNorm, 1e-6);
        Assert.Equal(c, step.StageCoefficients[0], 1e-7);
        Assert.True(step.Clipped);
        Assert.Equal(((0.1 - 1) * (0.1 - 1) + 3.85 * 3.85) / 2, step.Loss, 1e-5);
    }

    [Fact]
    public void Run_GlobalNorm_EveryStepRecordAgreesWithTheFormula()
    {
        var settings = RegressionSettings(ClippingMode.GlobalNorm, threshold: 0.3);
        settings.MaximumNumberOfEpochs = 3;
        settings.RecordGradientNorms = GradientNormDetail.Parameter;
        settings.StepRecordBlockSize = 4; // smaller than an epoch: blocks and epoch ends both flush
        using var model = new LastStepLinear(3, 1);

        var history = SequenceTrainingLoop.Run(model, SequenceTask.Regression, RandomRegression(3, batchCount: 7, batchSize: 5, time: 2, seed: 6), null, settings);

        Assert.Equal(21, history.Steps.Count);
        Assert.Equal(Enumerable.Range(1, 21).Select(i => (long)i), history.Steps.Select(s => s.Step));
        Assert.Equal(["GlobalNorm"], history.StageNames);
        Assert.Equal(["linear.weight", "linear.bias"], history.NormGroupNames);
        foreach (var s in history.Steps)
        {
            double c = Math.Min(1, 0.3 / (s.PreClipNorm + 1e-6));
            Assert.Equal(c, s.StageCoefficients[0], 1e-9);
            Assert.Equal(c * s.PreClipNorm, s.PostClipNorm, 1e-9);
            Assert.Equal(s.PreClipNorm > 0.3 + 1e-6, s.Clipped);
            // Per-parameter norms make up the total, within the norms' documented accuracy (1e-6 relative): the loop's
            // contiguous gradients measure the total with one fused reduction, the per-tensor norms separately.
            Assert.Equal(s.PreClipNorm, Math.Sqrt(s.GroupNorms.Sum(n => n * n)), 1e-6 * s.PreClipNorm);
        }
    }

    [Fact]
    public void Run_LocalNormPerParameter_PostClipNormIsTheNormOfTheClippedParameterNorms()
    {
        var settings = RegressionSettings(ClippingMode.LocalNorm, threshold: 0.2);
        settings.RecordGradientNorms = GradientNormDetail.Parameter;
        using var model = new LastStepLinear(3, 1);

        var history = SequenceTrainingLoop.Run(model, SequenceTask.Regression, RandomRegression(3, batchCount: 5, batchSize: 5, time: 2, seed: 7), null, settings);

        foreach (var s in history.Steps)
        {
            var clipped = s.GroupNorms.Select(n => n * Math.Min(1, 0.2 / (n + 1e-6)));
            Assert.Equal(Math.Sqrt(clipped.Sum(n => n * n)), s.PostClipNorm, 1e-9);
            Assert.Equal(s.GroupNorms.Select(n => Math.Min(1, 0.2 / (n + 1e-6))).Min(), s.StageCoefficients[0], 1e-9);
        }
    }

    [Fact]
    public void Run_EpochRecords_AggregateTheirStepRecords()
    {
        var settings = RegressionSettings(ClippingMode.GlobalNorm, threshold: 0.5);
        settings.MaximumNumberOfEpochs = 2;
        using var model = new LastStepLinear(3, 1);

        var history = SequenceTrainingLoop.Run(model, SequenceTask.Regression, RandomRegression(3, batchCount: 11, batchSize: 4, time: 2, seed: 8), null, settings);

        foreach (var epoch in history.Epochs)
        {
            var steps = history.Steps.Where(s => s.Epoch == epoch.Epoch).ToArray();
            var norms = steps.Select(s => s.PreClipNorm).Order().ToArray();
            Assert.Equal(11, epoch.Steps);
            Assert.Equal(steps.Average(s => s.Loss), epoch.TrainingLoss, 1e-12);
            Assert.Equal(norms.Average(), epoch.MeanGradientNorm, 1e-12);
            Assert.Equal(norms[^1], epoch.MaximumGradientNorm);
            Assert.Equal(norms[5], epoch.MedianGradientNorm); // 11 values: the median is the 6th
            // NumPy's linear percentile of 11 values: rank q/100 × 10, e.g. 9.0 for the 90th, 9.9 for the 99th.
            Assert.Equal(norms[9], epoch.GradientNormPercentile90, 1e-12);
            Assert.Equal(norms[9] + 0.9 * (norms[10] - norms[9]), epoch.GradientNormPercentile99, 1e-12);
            Assert.Equal(steps.Count(s => s.Clipped) / 11.0, epoch.ClippedFraction, 1e-12);
            Assert.Equal(steps.Average(s => s.PostClipNorm), epoch.MeanPostClipGradientNorm, 1e-12);
        }
    }

    [Fact]
    public void Run_RecordGradientNormsPerLayer_GroupsMakeUpTheTotalOfARecurrentModel()
    {
        var settings = RegressionSettings(ClippingMode.None);
        settings.RecordGradientNorms = GradientNormDetail.Layer;
        settings.MaximumNumberOfEpochs = 1;
        using var model = ClipTrainer.Modeling.SequenceModel.Create(new ClipTrainer.Modeling.SequenceModelOptions
        {
            InputSize = 3, HiddenSize = 4, NumberOfLayers = 2, OutputSize = 1,
        }, seed: 1);

        var history = SequenceTrainingLoop.Run(model, SequenceTask.Regression, RandomRegression(3, batchCount: 3, batchSize: 4, time: 5, seed: 9), null, settings);

        Assert.Equal(["recurrent[l0]", "recurrent[l1]", "head"], history.NormGroupNames);
        Assert.Empty(history.StageNames);
        Assert.All(history.Steps, s => Assert.Equal(s.PreClipNorm, Math.Sqrt(s.GroupNorms.Sum(n => n * n)), 1e-6 * s.PreClipNorm));
    }

    [Fact]
    public void Run_SourceOfUnknownLengthWithAScheduledLearningRate_ThrowsNamingTheSchedule()
    {
        var settings = RegressionSettings();
        settings.Schedule = LearningRateSchedule.OneCycle;
        using var model = new LastStepLinear(2, 1);

        var exception = Assert.Throws<ArgumentException>(() =>
            SequenceTrainingLoop.Run(model, SequenceTask.Regression, RandomRegression(2, 2, 4, 2, seed: 1, knownLength: false), null, settings));

        Assert.Equal("training", exception.ParamName);
        Assert.Contains("Schedule = Constant", exception.Message);
    }

    [Fact]
    public void Run_SourceOfUnknownLengthWithAConstantRate_Trains()
    {
        using var model = new LastStepLinear(2, 1);

        var history = SequenceTrainingLoop.Run(model, SequenceTask.Regression, RandomRegression(2, 3, 4, 2, seed: 1, knownLength: false), null, RegressionSettings());

        Assert.Equal(6, history.Steps.Count);
    }

    [Fact]
    public void Run_ModelOutputOfTheWrongWidth_ThrowsNamingTheShapeTheTaskNeeds()
    {
        using var model = new LastStepLinear(2, 3);

        var exception = Assert.Throws<ArgumentException>(() =>
            SequenceTrainingLoop.Run(model, SequenceTask.Regression, RandomRegression(2, 2, 4, 2, seed: 1), null, RegressionSettings()));

        Assert.Equal("model", exception.ParamName);
        Assert.Contains("[4, 3]", exception.Message);
        Assert.Contains("Regression needs [4, 1]", exception.Message);
    }

    [Fact]
    public void Run_MulticlassLabelsBeyondTheModelsOutputs_ThrowsNamingTheRange()
    {
        using var model = new LastStepLinear(2, 3);
        var settings = RegressionSettings();

        var exception = Assert.Throws<ArgumentException>(() =>
            SequenceTrainingLoop.Run(model, SequenceTask.MulticlassClassification, new ClassBatches(labels: [0, 4, 1]), null, settings));

        Assert.Contains("class indices in [0, 4], but the model has 3 outputs", exception.Message);
    }

    [Fact]
    public void Run_EmptySource_ThrowsNamingTheEpoch()
    {
        using var model = new LastStepLinear(2, 1);

        var exception = Assert.Throws<ArgumentException>(() =>
            SequenceTrainingLoop.Run(model, SequenceTask.Regression, new FixedBatches(2, []), null, RegressionSettings()));

        Assert.Contains("no batch in epoch 1", exception.Message);
    }

    private sealed class ClassBatches(long[] labels) : ISequenceBatchSource
    {
        public int? BatchesPerEpoch => 1;

        public IEnumerable<SequenceBatch> GetBatches(int epoch)
        {
            yield return new SequenceBatch(TorchSharp.torch.zeros(labels.Length, 1, 2), TorchSharp.torch.ones(labels.Length, TorchSharp.torch.ScalarType.Int64),
                TorchSharp.torch.tensor(labels));
        }
    }
}
