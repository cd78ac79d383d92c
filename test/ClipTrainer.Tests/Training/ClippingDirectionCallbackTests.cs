using ClipTrainer.Clipping;
using ClipTrainer.Data;
using ClipTrainer.Training;
using Xunit;
using static ClipTrainer.Tests.Training.EngineTestKit;

namespace ClipTrainer.Tests.Training;

/// <summary>The cosine between clipped and raw gradients, on a linear model whose gradients are known by hand.</summary>
[Collection(TorchSharpTrainingCollection.Name)]
public class ClippingDirectionCallbackTests
{
    // y = w·x + b with w = 0, b = 0 and target −1: the MSE gradient is 2·(0 − (−1))·(x, 1) = (2x₁, 2x₂, 2).
    // Batch 1: x = (1, 2) → g = (2, 4, 2); batch 2: x = (1, 0) → g = (2, 0, 2). The learning rate is tiny, so batch 2
    // sees the same zero weights (to 1e-9).
    private static ClippingDirectionCallback Train(GradientClippingOptions clipping)
    {
        var direction = new ClippingDirectionCallback();
        var settings = new TrainingSettings
        {
            MaximumNumberOfEpochs = 1,
            Optimizer = OptimizerKind.Sgd,
            Momentum = 0,
            LearningRate = 1e-9,
            Schedule = LearningRateSchedule.Constant,
            Shuffle = false,
            Clipping = clipping,
            NumberOfThreads = 1,
        };
        settings.Callbacks.Add(direction);
        using var model = new LastStepLinear(2, 1);
        model.SetWeights(new float[,] { { 0, 0 } }, [0]);
        var batches = new FixedBatches(2, [([[1f, 2f]], [-1f]), ([[1f, 0f]], [-1f])]);
        SequenceTrainingLoop.Run(model, SequenceTask.Regression, batches, null, settings);
        return direction;
    }

    [Fact]
    public void ValueClipping_TurnsTheDirectionByTheHandComputedAngle()
    {
        var direction = Train(new GradientClippingOptions { Mode = ClippingMode.Value, Threshold = 1 });

        // Step 1: (2, 4, 2) → (1, 1, 1): cos = 8 / (√24 · √3) = 8 / √72. Step 2: (2, 0, 2) → (1, 0, 1): same direction.
        Assert.Equal(2, direction.Cosines.Count);
        Assert.Equal(8 / Math.Sqrt(72), direction.Cosines[0], 1e-6);
        Assert.Equal(1, direction.Cosines[1], 1e-6);
        Assert.Equal((8 / Math.Sqrt(72) + 1) / 2, direction.MeanCosine, 1e-6);
        Assert.Equal(8 / Math.Sqrt(72), direction.MinimumCosine, 1e-6);
        Assert.Equal(Math.Sqrt(24), direction.PreClipL2Norms[0], 1e-5);
        Assert.Equal(Math.Sqrt(8), direction.PreClipL2Norms[1], 1e-5);
    }

    [Fact]
    public void GlobalNormClipping_KeepsTheDirection_WhileItClips()
    {
        var direction = Train(new GradientClippingOptions { Mode = ClippingMode.GlobalNorm, Threshold = 1 });

        // Both raw norms (√24, √8) exceed 1, so both steps are scaled, by one coefficient each.
        Assert.Equal([1.0, 1.0], direction.Cosines.Select(c => Math.Round(c, 6)));
        Assert.Equal(Math.Sqrt(24), direction.PreClipL2Norms[0], 1e-5);
    }

    [Fact]
    public void LocalNormPerParameter_TurnsTheDirection_ByItsPerTensorCoefficients()
    {
        var direction = Train(new GradientClippingOptions { Mode = ClippingMode.LocalNorm, Threshold = 1, LocalScope = LocalNormScope.Parameter });

        // Step 1: weight (2, 4) → (2, 4)/√20, bias 2 → 1: cos = (√20 + 2) / (√2 · √24).
        // Step 2: weight (2, 0) → (1, 0), bias 2 → 1: (1, 0, 1), parallel to (2, 0, 2).
        Assert.Equal((Math.Sqrt(20) + 2) / Math.Sqrt(48), direction.Cosines[0], 1e-6);
        Assert.Equal(1, direction.Cosines[1], 1e-6);
    }

    [Fact]
    public void NoClipping_GivesCosineOne()
    {
        var direction = Train(new GradientClippingOptions { Mode = ClippingMode.None });

        Assert.Equal(1, direction.MeanCosine, 1e-9);
    }
}
