using ClipTrainer.Clipping;
using TorchSharp.Modules;
using Xunit;

namespace ClipTrainer.Tests.Clipping;

public sealed class NonFiniteGradientPolicyTests
{
    public static TheoryData<float> NonFiniteValues => new() { float.NaN, float.PositiveInfinity, float.NegativeInfinity };

    private static GradientClipper Clipper(NonFiniteGradientPolicy policy, ClippingMode mode = ClippingMode.GlobalNorm, double normType = 2) =>
        GradientClipper.Create(new GradientClippingOptions { Mode = mode, Threshold = 1, NormType = normType, NonFinitePolicy = policy });

    private static (string, Parameter)[] Parameters(float bad, out Parameter good, out Parameter broken, out Parameter alsoBroken)
    {
        good = Gradients.With([3, 4]);
        broken = Gradients.With([1, bad, 2, bad]);
        alsoBroken = Gradients.With([bad]);
        return [("good", good), ("lstm.weight_hh_l0", broken), ("fc.bias", alsoBroken)];
    }

    [Theory]
    [MemberData(nameof(NonFiniteValues))]
    public void Clip_Error_ThrowsNamingTheParameters_AndLeavesGradientsUntouched(float bad)
    {
        var parameters = Parameters(bad, out var good, out var broken, out var alsoBroken);

        var error = Assert.Throws<InvalidOperationException>(() => Clipper(NonFiniteGradientPolicy.Error).Clip(parameters));

        Assert.Contains("lstm.weight_hh_l0, fc.bias", error.Message, StringComparison.Ordinal);
        Assert.Contains("3 element(s) of 2 parameter(s)", error.Message, StringComparison.Ordinal);
        Assert.DoesNotContain("good", error.Message, StringComparison.Ordinal);
        Assert.Equal([3f, 4f], Gradients.Of(good));
        Assert.Equal([1f, bad, 2f, bad], Gradients.Of(broken));
        Assert.Equal([bad], Gradients.Of(alsoBroken));
    }

    [Theory]
    [InlineData(ClippingMode.None)]
    [InlineData(ClippingMode.Value)]
    [InlineData(ClippingMode.LocalNorm)]
    [InlineData(ClippingMode.GlobalThenLocal)]
    public void Clip_Error_AppliesInEveryMode(ClippingMode mode)
    {
        var parameters = Parameters(float.NaN, out _, out _, out _);

        Assert.Throws<InvalidOperationException>(() => Clipper(NonFiniteGradientPolicy.Error, mode).Clip(parameters));
    }

    [Theory]
    [MemberData(nameof(NonFiniteValues))]
    public void Clip_SkipStep_ReportsSkip_CountsIt_AndLeavesGradientsUntouched(float bad)
    {
        var parameters = Parameters(bad, out var good, out var broken, out _);
        var clipper = Clipper(NonFiniteGradientPolicy.SkipStep);

        using (var report = clipper.Clip(parameters))
        {
            Assert.True(report.SkipStep);
            Assert.Equal(3, report.NonFiniteElementCount);
            Assert.Equal(["lstm.weight_hh_l0", "fc.bias"], report.NonFiniteParameterNames);
            Assert.False(double.IsFinite(report.TotalNorm));
            Assert.Empty(report.Stages);
            Assert.False(report.WasClipped);
        }

        using (clipper.Clip(parameters))
        {
        }

        Assert.Equal(2, clipper.SkippedStepCount);
        Assert.Equal([3f, 4f], Gradients.Of(good));
        Assert.Equal([1f, bad, 2f, bad], Gradients.Of(broken));
    }

    [Fact]
    public void Clip_SkipStep_DoesNotSkip_WhenGradientsAreFinite()
    {
        var clipper = Clipper(NonFiniteGradientPolicy.SkipStep);

        using var report = clipper.Clip([("p", Gradients.With([3, 4]))]);

        Assert.False(report.SkipStep);
        Assert.Equal(0, report.NonFiniteElementCount);
        Assert.Empty(report.NonFiniteParameterNames);
        Assert.Equal(0, clipper.SkippedStepCount);
    }

    [Theory]
    [MemberData(nameof(NonFiniteValues))]
    public void Clip_ZeroNonFinite_ZeroesThenClips(float bad)
    {
        // After zeroing: [3, 4], [1, 0, 2, 0], [0]; global L2 = √(9 + 16 + 1 + 4) = √30; threshold 1.
        var parameters = Parameters(bad, out var good, out var broken, out var alsoBroken);

        using var report = Clipper(NonFiniteGradientPolicy.ZeroNonFinite).Clip(parameters);

        var c = (float)(1 / Math.Sqrt(30));
        Assert.False(report.SkipStep);
        Assert.Equal(3, report.NonFiniteElementCount);
        Assert.Equal(["lstm.weight_hh_l0", "fc.bias"], report.NonFiniteParameterNames);
        Gradients.AssertClose(Math.Sqrt(30), report.TotalNorm, 1e-7);
        Gradients.AssertClose([3 * c, 4 * c], Gradients.Of(good), 1e-5);
        Gradients.AssertClose([c, 0, 2 * c, 0], Gradients.Of(broken), 1e-5);
        Assert.Equal([0f], Gradients.Of(alsoBroken));
    }

    [Fact]
    public void Clip_ZeroNonFinite_WithLocalNorm_MeasuresZeroedGradients()
    {
        var broken = Gradients.With([3, float.NaN, 4]);

        using var report = Clipper(NonFiniteGradientPolicy.ZeroNonFinite, ClippingMode.LocalNorm, normType: 1).Clip([("w", broken)]);

        Assert.Equal([7.0], report.GroupNorms);
        Gradients.AssertClose([3f / 7, 0, 4f / 7], Gradients.Of(broken), 1e-5);
    }

    [Fact]
    public void Clip_HandlesHugeFiniteFloat32Gradients_WithoutOverflow()
    {
        // 3e38² overflows float32, not the float64 accumulation: the norm is 3e38·√2 and clipping works.
        var huge = Gradients.With([3e38f, 3e38f]);

        using var report = Clipper(NonFiniteGradientPolicy.Error).Clip([("huge", huge)]);

        Gradients.AssertClose(3e38 * Math.Sqrt(2), report.TotalNorm, 1e-7);
        Gradients.AssertClose([(float)Math.Sqrt(0.5), (float)Math.Sqrt(0.5)], Gradients.Of(huge), 1e-5);
    }

    [Fact]
    public void Clip_Error_Throws_WhenNormOverflowsAlthoughElementsAreFinite()
    {
        // (1e200)² overflows float64: every element is finite but the L2 norm is +Inf.
        using var huge = new TorchSharp.Modules.Parameter(TorchSharp.torch.zeros(2, TorchSharp.torch.ScalarType.Float64), requires_grad: true);
        huge.grad = TorchSharp.torch.tensor(new[] { 1e200, 1e200 });

        var error = Assert.Throws<InvalidOperationException>(() => Clipper(NonFiniteGradientPolicy.Error).Clip([("huge", huge)]));

        Assert.Contains("overflowed", error.Message, StringComparison.Ordinal);
        Assert.Equal([1e200, 1e200], huge.grad!.data<double>().ToArray());
    }

    [Fact]
    public void GlobalNorm_Facade_PropagatesNaN_LikeTheSeed()
    {
        Assert.True(double.IsNaN(GradientClipping.GlobalNorm([Gradients.With([1, float.NaN])])));
    }
}
