using ClipTrainer.Clipping;
using TorchSharp.Modules;
using Xunit;
using static TorchSharp.torch;

namespace ClipTrainer.Tests.Clipping;

/// <summary>AGC: unit-wise ratios of gradient to weight norms, the ε floor, vectors as one unit, the excluded layer.</summary>
public class AdaptiveGradientClippingRuleTests
{
    private static Parameter Parameter(float[] weight, float[] gradient, params long[] shape)
    {
        var parameter = Gradients.With(gradient, shape);
        using var noGrad = no_grad();
        using var values = tensor(weight).reshape(shape);
        parameter.copy_(values);
        return parameter;
    }

    [Fact]
    public void Apply_Rows_ScalesEachRowAboveLambdaTimesItsWeightNormAndLeavesTheOthers()
    {
        using var scope = NewDisposeScope();
        // Row 0: ‖W₀‖ = 5, ‖G₀‖ = 0.5 > 0.01·5 = 0.05 → × 0.05/0.5 = 0.1. Row 1: ‖W₁‖ = 0 → floor ε = 1e-3,
        // ‖G₁‖ = 1e-4 > 0.01·1e-3 = 1e-5 → × 0.1. Row 2: ‖W₂‖ = 1, ‖G₂‖ = 0.005 < 0.01: unchanged.
        var matrix = Parameter([3, 4, 0, 0, 1, 0], [0.3f, 0.4f, 1e-4f, 0, 0.003f, 0.004f], 3, 2);
        // A bias is one unit: ‖b‖ = 2, ‖g‖ = 0.05 > 0.02 → × 0.4.
        var bias = Parameter([2, 0], [0.03f, 0.04f], 2);
        var head = Parameter([1, 1], [5, 5], 1, 2);
        var clipper = new GradientClipper(new AdaptiveGradientClippingRule());

        using var report = clipper.Clip(Gradients.Named(("layer.weight", matrix), ("layer.bias", bias), ("head.weight", head)));

        var m = Gradients.Of(matrix);
        float[] expected = [0.03f, 0.04f, 1e-5f, 0, 0.003f, 0.004f];
        for (var i = 0; i < 6; i++) Assert.Equal(expected[i], m[i], 1e-7f);
        Assert.Equal(0.012f, Gradients.Of(bias)[0], 1e-7f);
        Assert.Equal(0.016f, Gradients.Of(bias)[1], 1e-7f);
        Assert.Equal([5f, 5f], Gradients.Of(head)); // the head is excluded by default
        var stage = Assert.Single(report.Stages);
        Assert.Equal(["layer.weight", "layer.bias"], stage.GroupNames);
        Assert.Equal([0.1, 0.4], stage.Coefficients, new DoubleTolerance(1e-6));
        Assert.Equal(Math.Sqrt(0.25 + 1e-8 + 0.000025), stage.GroupNorms[0], 1e-6);
        Assert.True(report.WasClipped);
    }

    [Fact]
    public void Apply_NoExcludedLayer_ClipsTheHeadToo()
    {
        using var scope = NewDisposeScope();
        var head = Parameter([3, 4], [3, 4], 1, 2); // ‖G‖ = 5 > 0.01·5 → × 0.01
        var clipper = new GradientClipper(new AdaptiveGradientClippingRule(excludedLayer: null));

        using var report = clipper.Clip(Gradients.Named(("head.weight", head)));

        Assert.Equal(0.03f, Gradients.Of(head)[0], 1e-7f);
        Assert.Equal(0.04f, Gradients.Of(head)[1], 1e-7f);
    }

    [Fact]
    public void Apply_LstmStackedGates_ClipsEveryGateRowOnItsOwn()
    {
        using var scope = NewDisposeScope();
        using var lstm = nn.LSTM(2, 3); // weight_ih_l0 is [4·3, 2]: one row per gate of each hidden unit
        var weight = lstm.named_parameters().Single(p => p.name == "weight_ih_l0").parameter;
        // Even rows: weights of norm ~1, so 0.01·‖Wᵢ‖ exceeds their gradient's ~0.005; odd rows: tiny weights, clipped.
        var random = new Random(2);
        var w = Enumerable.Range(0, 24).Select(i => (float)(random.NextDouble() + 0.5) * (i / 2 % 2 == 0 ? 0.7f : 1e-4f)).ToArray();
        var gradient = Enumerable.Range(0, 24).Select(_ => (float)(random.NextDouble() - 0.5) * 0.006f).ToArray();
        using (var noGrad = no_grad())
        using (var values = tensor(w).reshape(12, 2)) weight.copy_(values);
        using (var g = tensor(gradient).reshape(12, 2)) weight.grad = g.clone();

        new GradientClipper(new AdaptiveGradientClippingRule(excludedLayer: null)).Clip(Gradients.Named(("lstm.weight_ih_l0", weight))).Dispose();

        var clipped = Gradients.Of(weight);
        var rowsScaled = 0;
        for (var row = 0; row < 12; row++)
        {
            var weightNorm = Math.Max(Math.Sqrt(w[2 * row] * w[2 * row] + w[2 * row + 1] * w[2 * row + 1]), 1e-3);
            var gradientNorm = Math.Sqrt(gradient[2 * row] * gradient[2 * row] + gradient[2 * row + 1] * gradient[2 * row + 1]);
            var c = gradientNorm > 0.01 * weightNorm ? 0.01 * weightNorm / gradientNorm : 1.0;
            rowsScaled += c < 1 ? 1 : 0;
            Assert.Equal(gradient[2 * row] * c, clipped[2 * row], 1e-7);
            Assert.Equal(gradient[2 * row + 1] * c, clipped[2 * row + 1], 1e-7);
        }

        Assert.Equal(6, rowsScaled); // the odd rows only: each row is a unit of its own
    }

    [Fact]
    public void Apply_ContextWithoutWeights_ThrowsSayingWhatItNeeds()
    {
        using var scope = NewDisposeScope();
        using var context = new GradientClipContext(["w"], [tensor(new[] { 1f })]);

        var error = Assert.Throws<InvalidOperationException>(() => new AdaptiveGradientClippingRule().Apply(context));

        Assert.Contains("clip through GradientClipper", error.Message);
    }

    [Fact]
    public void Chain_AutoClipThenAgc_AppliesBothAndPrefixesTheState()
    {
        using var scope = NewDisposeScope();
        var chain = new ChainedClippingRule(new AutoClipRule(percentile: 50, window: 4), new AdaptiveGradientClippingRule(clippingFactor: 0.5, excludedLayer: null));
        var clipper = new GradientClipper(chain);
        var parameter = Parameter([1, 0], [3, 4], 1, 2);

        using var report = clipper.Clip(Gradients.Named(("w", parameter)));

        // AutoClip at its own norm 5 leaves [3, 4]; AGC allows 0.5·‖W‖ = 0.5 → × 0.1.
        Assert.Equal(0.3f, Gradients.Of(parameter)[0], 1e-5f);
        Assert.Equal(0.4f, Gradients.Of(parameter)[1], 1e-5f);
        Assert.Equal(["AutoClip", "AdaptiveGradientClipping"], report.Stages.Select(s => s.RuleName));
        Assert.Equal(["0.count", "0.history"], chain.ExportState().Keys.Order());
    }
}
