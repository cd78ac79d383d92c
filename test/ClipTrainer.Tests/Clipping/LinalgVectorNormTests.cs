using ClipTrainer.Clipping;
using Xunit;
using static TorchSharp.torch;

namespace ClipTrainer.Tests.Clipping;

/// <summary>
/// The library's own entry to <c>linalg.vector_norm</c> (it owns the order's native scalar): the values it returns, by
/// hand. (The race it exists for is not reproducible in a test: TorchSharp's own overload survived 200,000 calls with
/// collections forced on another thread.)
/// </summary>
public sealed class LinalgVectorNormTests
{
    // x = [[3, -4], [0, 12]]: ‖x‖₂ = 13, ‖x‖₁ = 19, ‖x‖∞ = 12, ‖x‖₃ = (27 + 64 + 1728)^(1/3); rows: L2 [5, 12], L1 [7, 12].
    private static Tensor Example() => tensor(new double[] { 3, -4, 0, 12 }).reshape(2, 2);

    [Theory]
    [InlineData(2.0, 13.0)]
    [InlineData(1.0, 19.0)]
    [InlineData(double.PositiveInfinity, 12.0)]
    [InlineData(3.0, 12.2070549538)] // 1819^(1/3)
    public void Compute_OverAllElements_MatchesHandComputedNorm(double ord, double expected)
    {
        using var scope = NewDisposeScope();

        var norm = LinalgVectorNorm.Compute(Example(), ord);

        Assert.Equal(0, norm.dim());
        Assert.Equal(expected, norm.item<double>(), 8);
    }

    [Fact]
    public void Compute_OverDimension_GivesOneNormPerRow_AndKeepsTheDimensionWhenAsked()
    {
        using var scope = NewDisposeScope();

        var rows = LinalgVectorNorm.Compute(Example(), 2, [1]);
        var kept = LinalgVectorNorm.Compute(Example(), 1, [1], keepDimensions: true);

        Assert.Equal(new double[] { 5, 12 }, rows.data<double>().ToArray());
        Assert.Equal(new long[] { 2, 1 }, kept.shape);
        Assert.Equal(new double[] { 7, 12 }, kept.data<double>().ToArray());
    }

    [Fact]
    public void Compute_BadDimension_ThrowsInsteadOfCrashing()
    {
        using var scope = NewDisposeScope();

        Assert.ThrowsAny<Exception>(() => LinalgVectorNorm.Compute(Example(), 2, [5]));
    }
}
