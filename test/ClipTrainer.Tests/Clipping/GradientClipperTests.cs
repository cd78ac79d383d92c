using ClipTrainer.Clipping;
using TorchSharp.Modules;
using Xunit;

namespace ClipTrainer.Tests.Clipping;

/// <summary>
/// Every mode × norm type on hand-made gradients a = [3, 4] and b = [0, 12].
/// Per-tensor norms: L1 7, 12; L2 5, 12; L∞ 4, 12. Global norms: L1 19, L2 13, L∞ 12.
/// Coefficients are threshold / (norm + 1e-6); the tolerance 1e-5 covers the ε and float32 rounding.
/// </summary>
public sealed class GradientClipperTests
{
    private const double Tolerance = 1e-5;

    private static (string, Parameter)[] TwoParameters(out Parameter a, out Parameter b)
    {
        a = Gradients.With([3, 4]);
        b = Gradients.With([0, 12], 1, 2);
        return [("a", a), ("b", b)];
    }

    private static GradientClipper Clipper(ClippingMode mode, double threshold, double normType = 2, double localThreshold = 1,
        LocalNormScope scope = LocalNormScope.Parameter) =>
        GradientClipper.Create(new GradientClippingOptions
        {
            Mode = mode, Threshold = threshold, NormType = normType, LocalThreshold = localThreshold, LocalScope = scope,
        });

    [Theory]
    [InlineData(ClippingMode.GlobalNorm)]
    [InlineData(ClippingMode.LocalNorm)]
    [InlineData(ClippingMode.GlobalThenLocal)]
    public void Clip_GradientsThatRequireGrad_RecordsNothingForAutograd(ClippingMode mode)
    {
        // Gradients from backward(create_graph: true) take part in a graph; clipping, like PyTorch's, must not.
        var w = new Parameter(TorchSharp.torch.tensor(new float[] { 3, 4 }));
        using var loss = (w * w).sum() * 2;
        loss.backward(create_graph: true);
        Assert.True(w.grad!.requires_grad);

        using var report = Clipper(mode, 1.0).Clip([("w", w)]);

        Assert.False(report.TotalNormTensor.requires_grad);
        Assert.All(report.Stages, stage => Assert.False(stage.CoefficientsTensor.requires_grad || stage.GroupNormsTensor.requires_grad));
    }

    [Theory]
    [InlineData(2.0, 5.0, 0.6f, 0.8f)]
    [InlineData(1.0, 7.0, 3f / 7, 4f / 7)]
    [InlineData(double.PositiveInfinity, 4.0, 0.75f, 1.0f)]
    public void Clip_GlobalNorm_ScalesSingleTensorToThreshold(double normType, double expectedNorm, float x, float y)
    {
        var p = Gradients.With([3, 4]);

        using var report = Clipper(ClippingMode.GlobalNorm, 1.0, normType).Clip([("p", p)]);

        Gradients.AssertClose([x, y], Gradients.Of(p), Tolerance);
        Gradients.AssertClose(expectedNorm, report.TotalNorm, 1e-7);
        Assert.True(report.WasClipped);
        Assert.Equal([GlobalNormClippingRule.GroupName], report.GroupNames);
        Gradients.AssertClose(1.0 / expectedNorm, report.Coefficients.Single(), Tolerance);
    }

    [Theory]
    [InlineData(1.0, 19.0)]
    [InlineData(2.0, 13.0)]
    [InlineData(double.PositiveInfinity, 12.0)]
    public void Clip_GlobalNorm_ScalesAllTensorsByOneCoefficient(double normType, double globalNorm)
    {
        var parameters = TwoParameters(out var a, out var b);

        using var report = Clipper(ClippingMode.GlobalNorm, 1.0, normType).Clip(parameters);

        var c = (float)(1.0 / globalNorm);
        Gradients.AssertClose([3 * c, 4 * c], Gradients.Of(a), Tolerance);
        Gradients.AssertClose([0, 12 * c], Gradients.Of(b), Tolerance);
        Gradients.AssertClose(globalNorm, report.TotalNorm, 1e-7);
        Assert.Equal([globalNorm], report.GroupNorms);
    }

    [Theory]
    [InlineData(ClippingMode.GlobalNorm, 1.0)]
    [InlineData(ClippingMode.GlobalNorm, 2.0)]
    [InlineData(ClippingMode.GlobalNorm, double.PositiveInfinity)]
    [InlineData(ClippingMode.LocalNorm, 1.0)]
    [InlineData(ClippingMode.LocalNorm, 2.0)]
    [InlineData(ClippingMode.LocalNorm, double.PositiveInfinity)]
    [InlineData(ClippingMode.GlobalThenLocal, 1.0)]
    [InlineData(ClippingMode.GlobalThenLocal, 2.0)]
    [InlineData(ClippingMode.GlobalThenLocal, double.PositiveInfinity)]
    [InlineData(ClippingMode.Value, 2.0)]
    [InlineData(ClippingMode.None, 2.0)]
    public void Clip_LeavesGradientsBitwiseUnchanged_WhenBelowThreshold(ClippingMode mode, double normType)
    {
        var parameters = TwoParameters(out var a, out var b);

        using var report = Clipper(mode, threshold: 20, normType, localThreshold: 20).Clip(parameters);

        Assert.Equal([3f, 4f], Gradients.Of(a));
        Assert.Equal([0f, 12f], Gradients.Of(b));
        Assert.False(report.WasClipped);
        Assert.All(report.Coefficients, c => Assert.Equal(1.0, c));
    }

    [Theory]
    [InlineData(1.0, 7.0, 12.0)]
    [InlineData(2.0, 5.0, 12.0)]
    [InlineData(double.PositiveInfinity, 4.0, 12.0)]
    public void Clip_LocalNorm_ScalesEachParameterByItsOwnNorm(double normType, double normA, double normB)
    {
        var parameters = TwoParameters(out var a, out var b);

        using var report = Clipper(ClippingMode.LocalNorm, 1.0, normType).Clip(parameters);

        Gradients.AssertClose([(float)(3 / normA), (float)(4 / normA)], Gradients.Of(a), Tolerance);
        Gradients.AssertClose([0f, (float)(12 / normB)], Gradients.Of(b), Tolerance);
        Assert.Equal(["a", "b"], report.GroupNames);
        Gradients.AssertClose([(float)normA, (float)normB], report.GroupNorms.Select(n => (float)n).ToArray(), 1e-7);
    }

    [Fact]
    public void Clip_LocalNormByLayer_SharesCoefficientWithinModule()
    {
        var w = Gradients.With([3, 4]);
        var bias = Gradients.With([0]);
        var other = Gradients.With([0, 12]);

        using var report = Clipper(ClippingMode.LocalNorm, 1.0, scope: LocalNormScope.Layer)
            .Clip([("fc.weight", w), ("fc.bias", bias), ("out.weight", other)]);

        Assert.Equal(["fc", "out"], report.GroupNames);
        Assert.Equal([5.0, 12.0], report.GroupNorms);
        Gradients.AssertClose([0.6f, 0.8f], Gradients.Of(w), Tolerance);
        Gradients.AssertClose([0f, 1f], Gradients.Of(other), Tolerance);
    }

    [Theory]
    [InlineData(1.0, 1f, 1f, 1f)]
    [InlineData(3.5, 3f, 3.5f, 3.5f)]
    public void Clip_Value_ClampsEveryElement(double bound, float a0, float a1, float b1)
    {
        var a = Gradients.With([3, 4]);
        var b = Gradients.With([-12, 12]);

        using var report = Clipper(ClippingMode.Value, bound).Clip([("a", a), ("b", b)]);

        Assert.Equal([a0, a1], Gradients.Of(a));
        Assert.Equal([-b1, b1], Gradients.Of(b));
        Assert.True(report.WasClipped);
        Assert.Empty(report.GroupNames);
        Gradients.AssertClose(Math.Sqrt(9 + 16 + 144 + 144), report.TotalNorm, 1e-7);
    }

    [Fact]
    public void Clip_GlobalThenLocal_AppliesGlobalFirst()
    {
        // Global 6.5 on norm 13 halves everything: a = [1.5, 2] (norm 2.5), b = [0, 6]; local 3 then clips only b to [0, 3].
        // The other order would give a = [1.8, 2.4].
        var parameters = TwoParameters(out var a, out var b);

        using var report = Clipper(ClippingMode.GlobalThenLocal, 6.5, localThreshold: 3).Clip(parameters);

        Gradients.AssertClose([1.5f, 2f], Gradients.Of(a), Tolerance);
        Gradients.AssertClose([0f, 3f], Gradients.Of(b), Tolerance);
        Assert.Equal(["GlobalNorm", "LocalNorm"], report.Stages.Select(s => s.RuleName));
        Assert.Equal(["(global)", "a", "b"], report.GroupNames);
        Gradients.AssertClose([13f, 2.5f, 6f], report.GroupNorms.Select(n => (float)n).ToArray(), 1e-6);
        Assert.True(report.Stages[0].WasClipped);
        Assert.True(report.Stages[1].WasClipped);
        Gradients.AssertClose(13.0, report.TotalNorm, 1e-7);
    }

    [Theory]
    [InlineData(1.0, 19.0)]
    [InlineData(double.PositiveInfinity, 12.0)]
    public void Clip_GlobalThenLocal_UsesNormTypeInBothStages(double normType, double globalNorm)
    {
        // Global threshold = globalNorm / 2 halves both; local threshold 1 then brings each to norm 1.
        var parameters = TwoParameters(out var a, out var b);

        using var report = Clipper(ClippingMode.GlobalThenLocal, globalNorm / 2, normType, localThreshold: 1).Clip(parameters);

        var normA = normType == 1.0 ? 7.0 : 4.0;
        Gradients.AssertClose([(float)(3 / normA), (float)(4 / normA)], Gradients.Of(a), Tolerance);
        Gradients.AssertClose([0f, 1f], Gradients.Of(b), Tolerance);
    }

    [Fact]
    public void Clip_None_MeasuresButDoesNotClip()
    {
        var parameters = TwoParameters(out var a, out _);

        using var report = Clipper(ClippingMode.None, 0.001).Clip(parameters);

        Assert.Equal([3f, 4f], Gradients.Of(a));
        Assert.Empty(report.Stages);
        Assert.False(report.WasClipped);
        Gradients.AssertClose(13.0, report.TotalNorm, 1e-7);
    }

    [Fact]
    public void Clip_SkipsParametersWithoutGradientOrNotRequiringOne()
    {
        var a = Gradients.With([3, 4]);
        var frozen = Gradients.With([100, 100]);
        frozen.requires_grad = false;
        var empty = Gradients.Without();

        using var report = Clipper(ClippingMode.LocalNorm, 1.0).Clip([("a", a), ("frozen", frozen), ("empty", empty)]);

        Assert.Equal(["a"], report.GroupNames);
        Gradients.AssertClose(5.0, report.TotalNorm, 1e-7);
        Assert.Equal([100f, 100f], Gradients.Of(frozen));
        Assert.Null(empty.grad);
    }

    [Fact]
    public void Clip_ReportsZeroNorm_WhenNoParameterHasAGradient()
    {
        using var report = Clipper(ClippingMode.GlobalNorm, 1.0).Clip([("empty", Gradients.Without())]);

        Assert.Equal(0.0, report.TotalNorm);
        Assert.False(report.WasClipped);
    }

    [Fact]
    public void Clip_Module_UsesNamedParameters()
    {
        using var linear = TorchSharp.torch.nn.Linear(2, 1);
        linear.weight!.grad = TorchSharp.torch.tensor(new float[] { 3, 4 }).reshape(1, 2);
        linear.bias!.grad = TorchSharp.torch.tensor(new float[] { 0 });

        using var report = Clipper(ClippingMode.LocalNorm, 1.0).Clip(linear);

        Assert.Equal(["weight", "bias"], report.GroupNames);
        Gradients.AssertClose([0.6f, 0.8f], Gradients.Of(linear.weight), Tolerance);
    }

    [Theory]
    [InlineData(ClippingMode.GlobalNorm, 1.0, 7.0)]
    [InlineData(ClippingMode.GlobalNorm, 2.0, 5.0)]
    [InlineData(ClippingMode.GlobalNorm, double.PositiveInfinity, 4.0)]
    [InlineData(ClippingMode.LocalNorm, 1.0, 7.0)]
    [InlineData(ClippingMode.LocalNorm, 2.0, 5.0)]
    [InlineData(ClippingMode.LocalNorm, double.PositiveInfinity, 4.0)]
    [InlineData(ClippingMode.GlobalThenLocal, double.PositiveInfinity, 4.0)]
    public void Clip_ParameterOfShapeZero_CountsAsNormZeroAndDoesNotThrow(ClippingMode mode, double normType, double normOfA)
    {
        var empty = Gradients.With([]);
        var a = Gradients.With([3, 4]);

        using var report = Clipper(mode, 1.0, normType).Clip([("empty", empty), ("a", a)]);

        Gradients.AssertClose(normOfA, report.TotalNorm, 1e-7);
        Gradients.AssertClose([(float)(3 / normOfA), (float)(4 / normOfA)], Gradients.Of(a), Tolerance);
        Assert.Empty(Gradients.Of(empty));
        if (mode == ClippingMode.LocalNorm) Assert.Equal([0.0, normOfA], report.GroupNorms);
    }

    [Theory]
    [InlineData(3e20f, 1.0)]   // float32 squares overflow (beyond ~1.8e19): the clipper measures again in float64
    [InlineData(3e-25f, 2.0)]  // float32 squares vanish (below ~1e-19): the same
    [InlineData(3e20f, 2.0)]
    public void Clip_ExtremeFiniteFloat32Gradients_AreMeasuredExactly(float scale, double normType)
    {
        var a = Gradients.With([3 * scale, 4 * scale]);
        var b = Gradients.With([0, 12 * scale]);
        var expected = normType == 1 ? 19.0 * scale : 13.0 * scale;

        using var report = Clipper(ClippingMode.GlobalNorm, threshold: 1, normType: normType).Clip([("a", a), ("b", b)]);

        Assert.False(report.SkipStep);
        Gradients.AssertClose(expected, report.TotalNorm, 1e-6);
        Gradients.AssertClose(Math.Min(1, 1 / (expected + 1e-6)), report.Coefficients[0], 1e-6);
    }
}
