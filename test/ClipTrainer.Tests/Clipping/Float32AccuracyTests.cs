using ClipTrainer.Clipping;
using TorchSharp;
using Xunit;
using Xunit.Abstractions;
using static TorchSharp.torch;

namespace ClipTrainer.Tests.Clipping;

/// <summary>
/// The total norm of ≥ 10⁶ float32 gradient elements against a double-precision reference computed here, element
/// by element. The alternatives the remarks of <see cref="GradientNorms"/> compare against are measured too and
/// written to the test output (run with <c>--logger "console;verbosity=detailed"</c> to see them).
/// </summary>
/// <remarks>
/// Measured (relative error, L2 / L1): ours (float32 blocks of ≤ 1,024 elements combined in float64; until 2026-12
/// a float64 copy of every gradient, 3e-14 / 0) see the test output, within 1e-6 by assertion, for ordinary and
/// contiguous gradients; float32 per-tensor norms then norm (PyTorch) 2.7e-8 / 4.2e-7 and 3.3e-5 / 6.4e-5;
/// libtorch norm of the concatenation 5.4e-7 / 1.1e-5 and 3.3e-5 / 6.4e-5; one float32 running sum 7.8e-6 / 1.1e-5
/// and 7.2e-4 / 2.8e-4. The one-tensor rows are why the per-tensor norms are accumulated in float64.
/// </remarks>
public sealed class Float32AccuracyTests
{
    private const double RequiredRelativeError = 1e-6;
    private readonly ITestOutputHelper _output;

    public Float32AccuracyTests(ITestOutputHelper output) => _output = output;

    /// <summary>Roughly a model's worth of gradients: 400 tensors of 2,500…5,000 elements, magnitudes over six decades.</summary>
    private static float[][] ModelLikeGradients()
    {
        using var scope = NewDisposeScope();
        using var generator = new Generator(seed: 12345);
        var result = new float[400][];
        for (var i = 0; i < result.Length; i++)
        {
            var size = 2_500 + (i * 37 % 2_501);
            var scale = Math.Pow(10, -3 + 6.0 * i / result.Length);
            result[i] = (randn(size, generator: generator) * scale).data<float>().ToArray();
        }

        return result;
    }

    private static float[][] OneLargeTensor()
    {
        using var scope = NewDisposeScope();
        using var generator = new Generator(seed: 54321);
        return [(randn(1 << 21, generator: generator) + 0.25).data<float>().ToArray()];
    }

    private static double Reference(float[][] values, double p) => double.IsPositiveInfinity(p)
        ? values.SelectMany(v => v).Max(x => Math.Abs((double)x))
        : Math.Pow(values.SelectMany(v => v).Sum(x => Math.Pow(Math.Abs((double)x), p)), 1 / p);

    private static double FlatFloatSum(float[][] values, double p)
    {
        // One running float32 sum over all elements, as a naive concatenated computation would do.
        var sum = 0f;
        foreach (var x in values.SelectMany(v => v))
        {
            sum += p == 1 ? Math.Abs(x) : x * x;
        }

        return p == 1 ? sum : Math.Sqrt(sum);
    }

    private static double FlatTorch(float[][] values, double p)
    {
        using var scope = NewDisposeScope();
        return LinalgVectorNorm.Compute(cat(values.Select(v => tensor(v)).ToArray()), p).item<float>();
    }

    private static double Float32PerTensorThenNorm(float[][] values, double p)
    {
        // PyTorch's clip_grad_norm_: libtorch's float32 norm of each tensor, then the float32 norm of those norms.
        using var scope = NewDisposeScope();
        return LinalgVectorNorm.Compute(stack(values.Select(v => LinalgVectorNorm.Compute(tensor(v), p)).ToArray()), p).item<float>();
    }

    private static double PerTensorThenNorm(float[][] values, double p)
    {
        using var scope = NewDisposeScope();
        return GradientNorms.Total(values.Select(v => tensor(v)).ToArray(), p).item<double>();
    }

    [Theory]
    [InlineData("model-like", 2.0)]
    [InlineData("model-like", 1.0)]
    [InlineData("model-like", double.PositiveInfinity)]
    [InlineData("one tensor", 2.0)]
    [InlineData("one tensor", 1.0)]
    public void Total_IsWithinOnePpmOfDoublePrecision_OnAMillionFloat32Elements(string data, double p)
    {
        var values = data == "model-like" ? ModelLikeGradients() : OneLargeTensor();
        Assert.True(values.Sum(v => (long)v.Length) >= 1_000_000);
        var reference = Reference(values, p);

        var perTensor = Math.Abs(PerTensorThenNorm(values, p) - reference) / reference;

        _output.WriteLine($"{data}, p = {p}, {values.Sum(v => v.Length):N0} elements, reference {reference:R}");
        _output.WriteLine($"  per-tensor norms, then norm of norms (ours): relative error {perTensor:E2}");
        if (!double.IsPositiveInfinity(p))
        {
            _output.WriteLine($"  one flat float32 running sum:               relative error {Math.Abs(FlatFloatSum(values, p) - reference) / reference:E2}");
            _output.WriteLine($"  libtorch norm of the concatenated vector:   relative error {Math.Abs(FlatTorch(values, p) - reference) / reference:E2}");
            _output.WriteLine($"  float32 per-tensor norms, then norm:        relative error {Math.Abs(Float32PerTensorThenNorm(values, p) - reference) / reference:E2}");
        }

        Assert.True(perTensor <= RequiredRelativeError, $"Relative error {perTensor:E2} exceeds {RequiredRelativeError:E0}.");
    }

    [Theory]
    [InlineData("model-like", 2.0)]
    [InlineData("model-like", 1.0)]
    [InlineData("model-like", double.PositiveInfinity)]
    [InlineData("one tensor", 2.0)]
    [InlineData("one tensor", 1.0)]
    public void Clipper_WithContiguousGradients_IsWithinOnePpmOfDoublePrecision(string data, double p)
    {
        var values = data == "model-like" ? ModelLikeGradients() : OneLargeTensor();
        var reference = Reference(values, p);
        var parameters = values.Select((v, i) => ($"p{i}", Gradients.With(v))).ToArray();
        using var contiguous = new ContiguousGradients(parameters);

        using var report = GradientClipper.Create(new GradientClippingOptions { Mode = ClippingMode.None, NormType = p }).Clip(parameters);

        var error = Math.Abs(report.TotalNorm - reference) / reference;
        _output.WriteLine($"{data}, p = {p}: contiguous buffer (rows of {contiguous.RowLength}) relative error {error:E2}");
        Assert.True(contiguous.IsAttached);
        Assert.True(error <= RequiredRelativeError, $"Relative error {error:E2} exceeds {RequiredRelativeError:E0}.");
    }

    [Fact]
    public void Clipper_ReportsTheSameAccurateTotal()
    {
        var values = ModelLikeGradients();
        var reference = Reference(values, 2);
        var parameters = values.Select((v, i) => ($"p{i}", Gradients.With(v))).ToArray();

        using var report = GradientClipper.Create(new GradientClippingOptions { Mode = ClippingMode.None }).Clip(parameters);

        Assert.True(Math.Abs(report.TotalNorm - reference) / reference <= RequiredRelativeError);
    }
}
