using ClipTrainer.Clipping;
using TorchSharp;
using TorchSharp.Modules;
using Xunit;
using static TorchSharp.torch;

namespace ClipTrainer.Tests.Clipping;

/// <summary>
/// The host path's arithmetic pinned where rules follow each other (found by an independent review): each coefficient
/// and the post-clip norm in the float64 steps the device path takes, and who owns the tensors a host report makes.
/// </summary>
public sealed class HostPathArithmeticTests
{
    private static (string Name, Parameter Parameter)[] RandomParameters(int seed)
    {
        var random = new Random(seed);
        float[] Values(int n) => Enumerable.Range(0, n).Select(_ => (float)(random.NextDouble() * 4 - 2)).ToArray();
        return [("a.weight", Gradients.With(Values(7))), ("a.bias", Gradients.With(Values(3)))];
    }

    [Fact]
    public void TwoGlobalRules_SecondCoefficient_TakesTheCoefficientsSteps_PostClipNormScaledInTurn()
    {
        for (var seed = 0; seed < 40; seed++)
        {
            var clipper = new GradientClipper(new ChainedClippingRule(new GlobalNormClippingRule(1.0), new GlobalNormClippingRule(0.3)));
            using var report = clipper.Clip(RandomParameters(seed));
            var x = report.TotalNorm;
            var c1 = Math.Min(1.0, 1.0 / (x + GradientNorms.Epsilon)); // the checked total: a division
            var y = x * c1;
            var c2 = Math.Min(1.0, 1.0 / (y + GradientNorms.Epsilon) * 0.3); // a scaled total: reciprocal, then times τ

            Assert.Equal(c2, report.Stages[1].Coefficients[0]);
            Assert.Equal(y * c2, report.PostClipNorm);
        }
    }

    [Fact]
    public void GlobalThenACustomZeroDimensionalScale_PostClipNorm_OneCombinedCoefficient()
    {
        for (var seed = 0; seed < 40; seed++)
        {
            var clipper = new GradientClipper(new ChainedClippingRule(new GlobalNormClippingRule(1.0), new ConstantScaleRule(0.7)));
            using var report = clipper.Clip(RandomParameters(seed));
            var c1 = Math.Min(1.0, 1.0 / (report.TotalNorm + GradientNorms.Epsilon));

            Assert.Equal(report.TotalNorm * (c1 * 0.7), report.PostClipNorm);
        }
    }

    [Fact]
    public void LocalNorm_NothingClipped_PostClipNormIsThePreClipTotal()
    {
        // The report's contract: with nothing clipped the post-clip norm equals the pre-clip total.
        for (var seed = 0; seed < 10; seed++)
        {
            var parameters = RandomParameters(seed);
            using var buffer = new ContiguousGradients(parameters);
            using var report = new GradientClipper(new LocalNormClippingRule(1e6)).Clip(parameters);

            Assert.False(report.WasClipped);
            Assert.Equal(report.TotalNorm, report.PostClipNorm);
        }
    }

    [Fact]
    public void HostReport_TensorAskedForInACallersScope_BelongsToTheReport()
    {
        Tensor total;
        var report = new GradientClipper(new GlobalNormClippingRule(1.0)).Clip([("w", Gradients.With([3f, 4f]))]);
        using (NewDisposeScope())
        {
            total = report.TotalNormTensor;
        }

        Assert.False(total.IsInvalid); // the caller's scope does not free what the report owns
        Assert.Equal(5.0, total.item<double>(), 6);
        report.Dispose();
        Assert.True(total.IsInvalid);
    }

    [Fact]
    public void ContiguousBuffer_FoundWhenAParameterBeforeItHasNoGradient()
    {
        var inside = RandomParameters(1);
        using var buffer = new ContiguousGradients(inside);
        (string, Parameter)[] parameters = [("extra", new Parameter(zeros(2), requires_grad: true)), .. inside];
        var clipper = new GradientClipper(new GlobalNormClippingRule(1.0));

        using var report = clipper.Clip(parameters);

        Assert.Same(buffer, clipper.LastCallBuffer);
        Assert.Equal(["a.weight", "a.bias"], report.ParameterNames);
    }

    /// <summary>Scales every gradient by a constant and tells the context with a 0-dimensional coefficient.</summary>
    private sealed class ConstantScaleRule(double factor) : IGradientClippingRule
    {
        public string Name => "Constant";

        public IReadOnlyList<GradientClipStage> Apply(GradientClipContext context)
        {
            foreach (var gradient in context.Gradients) gradient.mul_(factor);
            using var coefficient = tensor(factor, ScalarType.Float64);
            context.MarkScaled(coefficient);
            return [];
        }

        public Dictionary<string, Tensor> ExportState() => [];

        public void ImportState(IReadOnlyDictionary<string, Tensor> state)
        {
        }
    }
}
