using ClipTrainer.Clipping;
using Xunit;

namespace ClipTrainer.Tests.Clipping;

public sealed class GradientClippingTests
{
    [Theory]
    [InlineData(2.0, 13.0)]
    [InlineData(1.0, 19.0)]
    [InlineData(double.PositiveInfinity, 12.0)]
    public void GlobalNorm_IsNormOfAllGradients_SkippingThoseWithout(double normType, double expected)
    {
        var parameters = new[] { Gradients.With([3, 4]), Gradients.Without(), Gradients.With([0, 12]) };

        Gradients.AssertClose(expected, GradientClipping.GlobalNorm(parameters, normType), 1e-7);
    }

    [Fact]
    public void ClipGradNormGlobal_ReturnsPreClipNorm_AndScalesToClipValue()
    {
        var p = Gradients.With([3, 4]);

        var norm = GradientClipping.ClipGradNormGlobal([p], 1.0);

        Gradients.AssertClose(5.0, norm, 1e-7);
        Gradients.AssertClose([0.6f, 0.8f], Gradients.Of(p), 1e-5);
    }

    [Fact]
    public void ClipGradNormGlobal_LeavesGradientsUnchanged_WhenBelowClipValue()
    {
        var p = Gradients.With([3, 4]);

        GradientClipping.ClipGradNormGlobal([p], 5.5);

        Assert.Equal([3f, 4f], Gradients.Of(p));
    }

    [Theory]
    [InlineData(2.0, 5.0)]
    [InlineData(1.0, 7.0)]
    [InlineData(double.PositiveInfinity, 4.0)]
    public void LocalNorm_IsNormOfOneGradient(double normType, double expected)
    {
        Gradients.AssertClose(expected, GradientClipping.LocalNorm(Gradients.With([3, -4]), normType), 1e-7);
    }

    [Fact]
    public void LocalNorm_IsZero_WithoutGradient()
    {
        Assert.Equal(0.0, GradientClipping.LocalNorm(Gradients.Without()));
    }

    [Fact]
    public void ClipGradNormLocal_ReturnsPerParameterPreClipNorms_WithZeroWhereNoGradient()
    {
        var a = Gradients.With([3, 4]);
        var b = Gradients.With([0, 12]);
        var c = Gradients.With([0.3f, 0.4f]);

        var norms = GradientClipping.ClipGradNormLocal([a, Gradients.Without(), b, c], 1.0);

        Assert.Equal(4, norms.Length);
        Gradients.AssertClose([5f, 0f, 12f, 0.5f], norms.Select(n => (float)n).ToArray(), 1e-7);
        Gradients.AssertClose([0.6f, 0.8f], Gradients.Of(a), 1e-5);
        Gradients.AssertClose([0f, 1f], Gradients.Of(b), 1e-5);
        Assert.Equal([0.3f, 0.4f], Gradients.Of(c));
    }

    [Theory]
    [InlineData(double.NaN)]
    [InlineData(0.0)]
    [InlineData(-1.0)]
    [InlineData(double.PositiveInfinity)]
    public void ClipGradNormGlobal_Throws_WhenClipValueIsInvalid(double clipValue)
    {
        var error = Assert.Throws<ArgumentOutOfRangeException>(() => GradientClipping.ClipGradNormGlobal([Gradients.With([1])], clipValue));

        Assert.Equal("clipValue", error.ParamName);
        Assert.Contains("greater than 0", error.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(double.NaN)]
    [InlineData(0.5)]
    [InlineData(double.NegativeInfinity)]
    public void ClipGradNormLocal_Throws_WhenNormTypeIsInvalid(double normType)
    {
        var error = Assert.Throws<ArgumentOutOfRangeException>(() => GradientClipping.ClipGradNormLocal([Gradients.With([1])], 1, normType));

        Assert.Equal("normType", error.ParamName);
    }
}
