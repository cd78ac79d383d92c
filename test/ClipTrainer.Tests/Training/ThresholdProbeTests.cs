using ClipTrainer.Clipping;
using ClipTrainer.Data;
using ClipTrainer.Training;
using Microsoft.ML;
using Xunit;
using static ClipTrainer.Tests.Training.EngineTestKit;
using static TorchSharp.torch;

namespace ClipTrainer.Tests.Training;

/// <summary>The probe against a hand-run loop, and the ML.NET face's probe against the trainer's own run.</summary>
[Collection(TorchSharpTrainingCollection.Name)]
public class ThresholdProbeTests
{
    private static readonly float[,] Weight = { { 0.4f, -0.3f, 0.2f } };
    private static readonly float[] Bias = [0.1f];

    private static TrainingSettings Settings() => new()
    {
        Optimizer = OptimizerKind.Sgd,
        Momentum = 0,
        LearningRate = 0.05,
        Schedule = LearningRateSchedule.Constant,
        MaximumNumberOfEpochs = 3, // 3 epochs of 4 batches: 12 steps in the run
        NumberOfThreads = 1,
        // The user's clipping (tiny threshold) must not act during the probe; its norm type and scope are kept.
        Clipping = new GradientClippingOptions { Mode = ClippingMode.GlobalNorm, Threshold = 0.01, NonFinitePolicy = NonFiniteGradientPolicy.SkipStep },
    };

    /// <summary>The independent computation: plain SGD steps, norms by the seed's <see cref="GradientClipping"/> functions.</summary>
    private static (double[] Global, double[][] PerParameter) HandRun(int steps)
    {
        using var model = new LastStepLinear(3, 1);
        model.SetWeights(Weight, Bias);
        var parameters = model.parameters().ToArray();
        using var sgd = optim.SGD(parameters, 0.05);
        var batches = RandomRegression(3, batchCount: 4, batchSize: 5, time: 2, seed: 3);
        var global = new List<double>();
        var perParameter = new List<double[]>();
        for (var epoch = 1; global.Count < steps; epoch++)
        {
            foreach (var batch in batches.GetBatches(epoch))
            {
                if (global.Count == steps) { batch.Dispose(); continue; }
                using var scope = NewDisposeScope();
                using var owned = batch;
                sgd.zero_grad();
                var loss = nn.functional.mse_loss(model.forward(batch.Features, batch.Lengths).squeeze(-1), batch.Labels);
                loss.backward();
                global.Add(GradientClipping.GlobalNorm(parameters));
                perParameter.Add(parameters.Select(p => GradientClipping.LocalNorm(p)).ToArray());
                sgd.step();
            }
        }

        return (global.ToArray(), perParameter.ToArray());
    }

    [Fact]
    public void Run_SixSteps_NormsEqualAnUnclippedHandRunAndTheWeightsAreRestored()
    {
        using var model = new LastStepLinear(3, 1);
        model.SetWeights(Weight, Bias);
        var settings = Settings();

        var report = ThresholdProbe.Run(model, SequenceTask.Regression, RandomRegression(3, 4, 5, 2, seed: 3), settings, steps: 6);

        var (global, perParameter) = HandRun(6);
        Assert.Equal(6, report.Steps);
        for (var i = 0; i < 6; i++) Assert.Equal(global[i], report.Norms[i], global[i] * 1e-5);
        Assert.Equal(["linear.weight", "linear.bias"], report.GroupNames);
        for (var i = 0; i < 6; i++)
            for (var g = 0; g < 2; g++) Assert.Equal(perParameter[i][g], report.GroupNorms[i][g], perParameter[i][g] * 1e-5 + 1e-9);
        Assert.Equal(global.Average(), report.Mean, 1e-5);
        Assert.Equal(global.Average(), report.ToClippingOptions(ClippingMode.GlobalNorm).Threshold, 1e-5);
        var local = report.ToClippingOptions(ClippingMode.LocalNorm);
        Assert.Equal(perParameter.SelectMany(p => p).Average(), local.Threshold, 1e-5);
        Assert.Equal(NonFiniteGradientPolicy.SkipStep, local.NonFinitePolicy); // the user's options, not the defaults

        // The probe trained a copy of the run, not the model: its weights are the ones it had.
        var weights = model.parameters().SelectMany(p => p.detach().data<float>().ToArray()).ToArray();
        Assert.Equal([0.4f, -0.3f, 0.2f, 0.1f], weights);
        Assert.True(model.training);
        Assert.Equal(ClippingMode.GlobalNorm, settings.Clipping.Mode);
        Assert.Empty(settings.Callbacks);
    }

    [Fact]
    public void Run_MoreStepsThanTheRunHas_StopsAtTheRunsEnd()
    {
        using var model = new LastStepLinear(3, 1);
        model.SetWeights(Weight, Bias);

        var report = ThresholdProbe.Run(model, SequenceTask.Regression, RandomRegression(3, 4, 5, 2, seed: 3), Settings(), steps: 50);

        var (global, _) = HandRun(12);
        Assert.Equal(12, report.Steps);
        Assert.Equal(global[^1], report.Norms[^1], global[^1] * 1e-5);
    }

    [Theory]
    [InlineData(0)]
    [InlineData(-3)]
    public void Run_StepsNotPositive_ThrowsNamingSteps(int steps)
    {
        using var model = new LastStepLinear(3, 1);
        var error = Assert.Throws<ArgumentOutOfRangeException>(() =>
            ThresholdProbe.Run(model, SequenceTask.Regression, RandomRegression(3, 1, 2, 1, seed: 1), Settings(), steps));
        Assert.Equal("steps", error.ParamName);
        Assert.Contains("must be > 0", error.Message);
    }

    [Fact]
    public void ProbeGradientNorms_Trainer_GivesTheNormsOfTheUnclippedFitsFirstSteps()
    {
        var mlContext = new MLContext(seed: 1);
        var options = SequenceTestData.SmallOptions(maximumNumberOfEpochs: 1);
        options.NumberOfThreads = 1;
        options.Clipping.Threshold = 0.05;
        var data = SequenceTestData.Load(mlContext, SequenceTestData.Regression(160, seed: 4)); // 5 batches of 32

        var report = mlContext.Regression.Trainers.ClipTrainer(options).ProbeGradientNorms(data, steps: 4);

        options.Clipping.Mode = ClippingMode.None;
        var fitted = mlContext.Regression.Trainers.ClipTrainer(options).Fit(data);
        var expected = fitted.History.Steps.Take(4).Select(s => s.PreClipNorm).ToArray();
        Assert.Equal(4, report.Steps);
        for (var i = 0; i < 4; i++) Assert.Equal(expected[i], report.Norms[i], expected[i] * 1e-9);
        Assert.Equal(GradientGrouping.ByParameter(fitted.Model.Network.named_parameters().Select(p => p.name).ToArray()).Select(g => g.Name), report.GroupNames);
    }
}
