using ClipTrainer.Clipping;
using Xunit;
using static TorchSharp.torch;

namespace ClipTrainer.Tests.Clipping;

public sealed class GradientNormsTests
{
    // [3, 4] and [0, 12]: per-tensor L1 = 7, 12; L2 = 5, 12; L∞ = 4, 12. Totals: L1 19, L2 13, L∞ 12.
    [Theory]
    [InlineData(1.0, 7.0, 12.0, 19.0)]
    [InlineData(2.0, 5.0, 12.0, 13.0)]
    [InlineData(double.PositiveInfinity, 4.0, 12.0, 12.0)]
    [InlineData(3.0, 4.497941445275415, 12.0, 12.207054953820636)] // (27+64)^(1/3); (27+64+1728)^(1/3)
    public void PerTensorAndTotal_MatchHandComputedNorms(double normType, double first, double second, double total)
    {
        using var scope = NewDisposeScope();
        Tensor[] gradients = [tensor(new float[] { 3, 4 }), tensor(new float[] { 0, 12 }).reshape(1, 2)];

        var perTensor = GradientNorms.PerTensor(gradients, normType).data<double>().ToArray();
        var combined = GradientNorms.Total(gradients, normType).item<double>();

        Assert.Equal(ScalarType.Float64, GradientNorms.PerTensor(gradients, normType).dtype);
        Gradients.AssertClose(first, perTensor[0], 1e-6);
        Gradients.AssertClose(second, perTensor[1], 1e-6);
        Gradients.AssertClose(total, combined, 1e-6);
    }

    [Fact]
    public void Total_IsZero_WhenThereAreNoGradients()
    {
        using var scope = NewDisposeScope();

        Assert.Equal(0.0, GradientNorms.Total([], 2).item<double>());
        Assert.Equal(0.0, GradientNorms.Total([], double.PositiveInfinity).item<double>());
    }

    [Theory]
    [InlineData(1.0, 7.0)]
    [InlineData(2.0, 5.0)]
    [InlineData(double.PositiveInfinity, 4.0)]
    public void PerTensorAndTotal_EmptyGradient_HasNormZero(double normType, double normOfOther)
    {
        // A parameter of shape [0] has an empty gradient: its norm is the norm of no elements, 0 (max of nothing for ∞).
        using var scope = NewDisposeScope();
        Tensor[] gradients = [zeros(0), tensor(new float[] { 3, 4 })];

        var perTensor = GradientNorms.PerTensor(gradients, normType).data<double>().ToArray();

        Assert.Equal(0.0, perTensor[0]);
        Gradients.AssertClose(normOfOther, perTensor[1], 1e-12);
        Assert.Equal(0.0, GradientNorms.Total([zeros(0)], normType).item<double>());
        Gradients.AssertClose(normOfOther, GradientNorms.Total(gradients, normType).item<double>(), 1e-12);
    }

    [Fact]
    public void PerGroup_CombinesMemberNorms()
    {
        using var scope = NewDisposeScope();
        var tensorNorms = tensor(new double[] { 3, 4, 12 });
        GradientGroup[] groups = [new("a", [0, 1]), new("b", [2])];

        var norms = GradientNorms.PerGroup(tensorNorms, groups, 2).data<double>().ToArray();

        Assert.Equal(new[] { 5.0, 12.0 }, norms);
    }

    [Fact]
    public void Coefficients_AreThresholdOverNormPlusEpsilon_ClampedToOne()
    {
        using var scope = NewDisposeScope();

        var c = GradientNorms.Coefficients(tensor(new double[] { 5, 0.5, 0 }), 1.0).data<double>().ToArray();

        Assert.Equal(1.0 / (5 + 1e-6), c[0], 15);
        Assert.Equal(1.0, c[1]);
        Assert.Equal(1.0, c[2]);
    }

    [Fact]
    public void ClipWithNorm_UsesTheGivenNorm_NotTheActualOne()
    {
        using var scope = NewDisposeScope();
        var gradient = tensor(new float[] { 3, 4 });

        // An adaptive rule may clip with a norm it measured elsewhere: 10 → c = 0.5 / 10.000001.
        var coefficient = GradientNorms.ClipWithNorm([gradient], tensor(10.0), 0.5).item<double>();

        Assert.Equal(0.5 / (10 + 1e-6), coefficient, 12);
        Gradients.AssertClose([0.15f, 0.2f], gradient.data<float>().ToArray(), 1e-6);
    }

    [Fact]
    public void ClipWithNorms_ScalesEachGroupByItsOwnCoefficient()
    {
        using var scope = NewDisposeScope();
        Tensor[] gradients = [tensor(new float[] { 3, 4 }), tensor(new float[] { 0, 12 }), tensor(new float[] { 0.1f })];
        GradientGroup[] groups = [new("a", [0, 2]), new("b", [1])];

        var c = GradientNorms.ClipWithNorms(gradients, groups, tensor(new double[] { 5, 12 }), 6.0).data<double>().ToArray();

        Assert.Equal(1.0, c[0]);
        Assert.Equal(6.0 / (12 + 1e-6), c[1], 12);
        Assert.Equal(new float[] { 3, 4 }, gradients[0].data<float>().ToArray());
        Assert.Equal(new float[] { 0.1f }, gradients[2].data<float>().ToArray());
        Gradients.AssertClose([0f, 6f], gradients[1].data<float>().ToArray(), 1e-6);
    }

    [Fact]
    public void ClipWithNorms_Throws_WhenNormCountDiffersFromGroupCount()
    {
        using var scope = NewDisposeScope();

        var error = Assert.Throws<ArgumentException>(() =>
            GradientNorms.ClipWithNorms([tensor(new float[] { 1 })], [new("a", [0])], tensor(new double[] { 1, 2 }), 1.0));

        Assert.Equal("groupNorms", error.ParamName);
    }

    [Theory]
    [InlineData(double.NaN)]
    [InlineData(0.5)]
    [InlineData(0.0)]
    [InlineData(double.NegativeInfinity)]
    public void PerTensor_Throws_WhenNormTypeIsInvalid(double normType)
    {
        var error = Assert.Throws<ArgumentOutOfRangeException>(() => GradientNorms.PerTensor([], normType));

        Assert.Equal("normType", error.ParamName);
    }
}
