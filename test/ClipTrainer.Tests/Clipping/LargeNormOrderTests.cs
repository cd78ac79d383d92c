using ClipTrainer.Clipping;
using Xunit;
using static TorchSharp.torch;

namespace ClipTrainer.Tests.Clipping;

/// <summary>
/// Norms of large order p, whose powers |g|ᵖ overflow or vanish even in float64. Expected values by hand: n equal
/// elements a have ‖g‖ₚ = a·n^(1/p).
/// </summary>
public sealed class LargeNormOrderTests
{
    private const double P = 1000;

    // 1,500 elements (blocked path with a 476-element tail) and 500 (one block), all 3 or all 1e-3:
    // 3^1000 = ∞ and (1e-3)^1000 = 0 in float64, but 3·1500^(1/1000) = 3.0221…, 1e-3·500^(1/1000) = 1.0062e-3.
    [Theory]
    [InlineData(3.0)]
    [InlineData(1e-3)]
    public void PerTensorAndTotal_Order1000_AreFiniteAndExact(double value)
    {
        using var scope = NewDisposeScope();
        Tensor[] gradients = [full(1500, (float)value), full(new long[] { 20, 25 }, (float)value)];

        var perTensor = GradientNorms.PerTensor(gradients, P).data<double>().ToArray();
        var total = GradientNorms.Total(gradients, P).item<double>();

        var single = (float)value; // the elements are float32: the expected norms use their exact value
        Gradients.AssertClose(single * Math.Pow(1500, 1 / P), perTensor[0], 1e-6);
        Gradients.AssertClose(single * Math.Pow(500, 1 / P), perTensor[1], 1e-6);
        Gradients.AssertClose(single * Math.Pow(2000, 1 / P), total, 1e-6);
    }

    [Fact]
    public void LinalgVectorNorm_Order1000_Overflows_WhichIsWhyNormsAreScaled()
    {
        // The failure this guards against: libtorch's own norm of 2,000 threes of order 1000 in float64 is ∞.
        using var scope = NewDisposeScope();

        Assert.True(double.IsPositiveInfinity(LinalgVectorNorm.Compute(full(2000, 3.0, ScalarType.Float64), P).item<double>()));
    }

    [Fact]
    public void Total_Order1000_IsDominatedByTheLargestElement()
    {
        // [3, 4]: 4·(1 + 0.75^1000)^(1/1000) = 4 (0.75^1000 ≈ 3e-125); [0, 0] adds nothing and stays 0 per tensor.
        using var scope = NewDisposeScope();
        Tensor[] gradients = [tensor(new float[] { 3, 4 }), zeros(2)];

        var perTensor = GradientNorms.PerTensor(gradients, P).data<double>().ToArray();

        Assert.Equal(new[] { 4.0, 0.0 }, perTensor);
        Assert.Equal(4.0, GradientNorms.Total(gradients, P).item<double>(), 12);
        Assert.Equal(4.0, GradientNorms.Combine(tensor(new double[] { 3, 4, 0 }), P).item<double>(), 12);
    }

    [Fact]
    public void Combine_Order1000_OfLargeNorms_IsFinite()
    {
        // Two norms of 1e200 (1e200^1000 overflows): (2·(1e200)^1000)^(1/1000) = 1e200·2^(1/1000).
        using var scope = NewDisposeScope();

        var combined = GradientNorms.Combine(tensor(new double[] { 1e200, 1e200 }), P).item<double>();

        Gradients.AssertClose(1e200 * Math.Pow(2, 1 / P), combined, 1e-12);
    }

    [Theory]
    [InlineData(ClippingMode.GlobalNorm)]
    [InlineData(ClippingMode.LocalNorm)]
    public void Clip_Order1000_ScalesToTheThreshold_OnThePerTensorAndContiguousPaths(ClippingMode mode)
    {
        // 1,500 and 500 elements of 3: threshold 1.5 gives c = 1.5 / (norm + 1e-6) with the hand-computed norms above.
        var globalNorm = 3 * Math.Pow(2000, 1 / P);
        double[] norms = mode == ClippingMode.GlobalNorm ? [globalNorm, globalNorm] : [3 * Math.Pow(1500, 1 / P), 3 * Math.Pow(500, 1 / P)];
        foreach (var contiguous in new[] { false, true })
        {
            using var scope = NewDisposeScope();
            var parameters = Gradients.Named(("a", Gradients.With(Enumerable.Repeat(3f, 1500).ToArray())),
                ("b", Gradients.With(Enumerable.Repeat(3f, 500).ToArray(), 20, 25)));
            using var buffer = contiguous ? new ContiguousGradients(parameters) : null;
            var clipper = GradientClipper.Create(new GradientClippingOptions { Mode = mode, Threshold = 1.5, NormType = P });

            using var report = clipper.Clip(parameters);

            Gradients.AssertClose(globalNorm, report.TotalNorm, 1e-6);
            for (var i = 0; i < 2; i++)
            {
                var expected = (float)(3 * 1.5 / (norms[i] + GradientNorms.Epsilon));
                Gradients.AssertClose(Enumerable.Repeat(expected, i == 0 ? 1500 : 500).ToArray(), Gradients.Of(parameters[i].Parameter), 1e-6);
            }
        }
    }

    [Fact]
    public void Total_Order1000_OfFloat64GradientsBeyondFloat32Range_IsExact()
    {
        // 1e30 overflows float32 squares and 1e30^1000 any type; the exact path must scale too: 1e30·4^(1/1000).
        using var scope = NewDisposeScope();
        var parameters = Gradients.Named(("w", new TorchSharp.Modules.Parameter(zeros(4, ScalarType.Float64), requires_grad: true)));
        parameters[0].Parameter.grad = full(4, 1e30, ScalarType.Float64);

        using var report = GradientClipper.Create(new GradientClippingOptions { Mode = ClippingMode.GlobalNorm, Threshold = 1, NormType = P })
            .Clip(parameters);

        Gradients.AssertClose(1e30 * Math.Pow(4, 1 / P), report.TotalNorm, 1e-12);
    }
}
