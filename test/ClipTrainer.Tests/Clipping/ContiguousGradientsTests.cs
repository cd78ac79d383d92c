using ClipTrainer.Clipping;
using TorchSharp;
using TorchSharp.Modules;
using Xunit;
using static TorchSharp.torch;

namespace ClipTrainer.Tests.Clipping;

/// <summary>
/// A model whose gradients are views into one <see cref="ContiguousGradients"/> buffer against a twin with ordinary
/// gradients: same weights, same batches, so every norm, coefficient and clipped gradient must agree.
/// </summary>
[Collection(TorchSharpTrainingCollection.Name)]
public sealed class ContiguousGradientsTests : IDisposable
{
    private const double Tolerance = 1e-5;
    private readonly SmallLstmModel _plain = new();
    private readonly SmallLstmModel _flat = new();
    private readonly ContiguousGradients _contiguous;

    public ContiguousGradientsTests()
    {
        _contiguous = new ContiguousGradients(_flat);
    }

    public void Dispose()
    {
        _contiguous.Dispose();
        _plain.Dispose();
        _flat.Dispose();
    }

    public static TheoryData<ClippingMode, LocalNormScope, double> Modes => new()
    {
        { ClippingMode.None, LocalNormScope.Parameter, 2.0 },
        { ClippingMode.GlobalNorm, LocalNormScope.Parameter, 2.0 },
        { ClippingMode.GlobalNorm, LocalNormScope.Parameter, 1.0 },
        { ClippingMode.GlobalNorm, LocalNormScope.Parameter, 3.0 },
        { ClippingMode.GlobalNorm, LocalNormScope.Parameter, double.PositiveInfinity },
        { ClippingMode.LocalNorm, LocalNormScope.Parameter, 2.0 },
        { ClippingMode.LocalNorm, LocalNormScope.Layer, 2.0 },
        { ClippingMode.LocalNorm, LocalNormScope.Layer, 1.0 },
        { ClippingMode.LocalNorm, LocalNormScope.Parameter, double.PositiveInfinity },
        { ClippingMode.GlobalThenLocal, LocalNormScope.Layer, 2.0 },
        { ClippingMode.Value, LocalNormScope.Parameter, 2.0 },
    };

    private static GradientClipper Clipper(ClippingMode mode, LocalNormScope scope = LocalNormScope.Parameter, double normType = 2) =>
        GradientClipper.Create(new GradientClippingOptions
        {
            Mode = mode, Threshold = 0.05, LocalThreshold = 0.01, LocalScope = scope, NormType = normType,
        });

    private static void AssertSameGradients(nn.Module expected, nn.Module actual)
    {
        var e = Gradients.Snapshot(expected);
        var a = Gradients.Snapshot(actual);
        Assert.Equal(e.Length, a.Length);
        for (var i = 0; i < e.Length; i++)
        {
            Gradients.AssertClose(e[i], a[i], Tolerance, absoluteTolerance: 1e-9);
        }
    }

    [Fact]
    public void Constructor_SetsEveryGradientToAViewOfTheBuffer()
    {
        Assert.True(_contiguous.IsAttached);
        Assert.Equal(_flat.named_parameters().Select(p => p.name), _contiguous.ParameterNames);
        Assert.Equal(_flat.parameters().Sum(p => p.numel()), _contiguous.ElementCount);
        Assert.Contains(_contiguous.RowLength, new long[] { 64, 256, 1024 });
        Assert.All(Gradients.Snapshot(_flat), g => Assert.All(g, x => Assert.Equal(0f, x)));
    }

    [Theory]
    [MemberData(nameof(Modes))]
    public void Clip_GivesTheSameReportAndGradients_AsThePerTensorPath(ClippingMode mode, LocalNormScope scope, double normType)
    {
        _plain.Backward(seed: 3);
        _flat.Backward(seed: 3);

        using var expected = Clipper(mode, scope, normType).Clip(_plain);
        using var actual = Clipper(mode, scope, normType).Clip(_flat);

        Assert.True(_contiguous.IsAttached);
        Gradients.AssertClose(expected.TotalNorm, actual.TotalNorm, 1e-6);
        Assert.Equal(expected.GroupNames, actual.GroupNames);
        Gradients.AssertClose(expected.GroupNorms.Select(n => (float)n).ToArray(), actual.GroupNorms.Select(n => (float)n).ToArray(), 1e-6);
        Gradients.AssertClose(expected.Coefficients.Select(n => (float)n).ToArray(), actual.Coefficients.Select(n => (float)n).ToArray(), 1e-6);
        Assert.Equal(expected.WasClipped, actual.WasClipped);
        AssertSameGradients(_plain, _flat);
    }

    [Fact]
    public void GlobalNorm_MatchesClipGradNorm()
    {
        _plain.Backward(seed: 4);
        _flat.Backward(seed: 4);

        var torchNorm = nn.utils.clip_grad_norm_(_plain.parameters(), 0.05);
        using var report = Clipper(ClippingMode.GlobalNorm).Clip(_flat);

        Gradients.AssertClose(torchNorm, report.TotalNorm, 1e-6);
        Assert.True(report.WasClipped);
        AssertSameGradients(_plain, _flat);
    }

    [Fact]
    public void Backward_AccumulatesIntoTheViews_AcrossStepsAndOptimizerZeroGrad()
    {
        using var plainOptimizer = optim.Adam(_plain.parameters(), 0.01);
        using var flatOptimizer = optim.Adam(_flat.parameters(), 0.01);
        var clipper = Clipper(ClippingMode.GlobalNorm);
        for (var step = 0; step < 3; step++)
        {
            plainOptimizer.zero_grad();
            flatOptimizer.zero_grad();
            _plain.Backward(seed: 10 + step);
            _flat.Backward(seed: 10 + step);
            _plain.Backward(seed: 20 + step); // a second backward accumulates (g₁ + g₂), in place
            _flat.Backward(seed: 20 + step);
            clipper.Clip(_plain).Dispose();
            clipper.Clip(_flat).Dispose();
            plainOptimizer.step();
            flatOptimizer.step();

            Assert.True(_contiguous.IsAttached);
            AssertSameGradients(_plain, _flat);
        }

        flatOptimizer.zero_grad();
        Assert.True(_contiguous.IsAttached);
        Assert.All(Gradients.Snapshot(_flat), g => Assert.All(g, x => Assert.Equal(0f, x)));
    }

    [Fact]
    public void ModuleZeroGrad_ReplacesTheViews_ClipFallsBack_AndReattachRestoresThem()
    {
        _flat.zero_grad(); // TorchSharp's default set_to_none: true drops every view
        Assert.False(_contiguous.IsAttached);
        _plain.Backward(seed: 5);
        _flat.Backward(seed: 5);

        using (Clipper(ClippingMode.GlobalNorm).Clip(_plain))
        using (Clipper(ClippingMode.GlobalNorm).Clip(_flat))
        {
        }

        AssertSameGradients(_plain, _flat);
        var values = Gradients.Snapshot(_flat);
        _contiguous.Reattach();

        Assert.True(_contiguous.IsAttached);
        Assert.Equal(values, Gradients.Snapshot(_flat));
    }

    [Fact]
    public void Clip_FallsBack_WhenOneGradientIsNotAView()
    {
        _plain.Backward(seed: 6);
        _flat.Backward(seed: 6);
        var replaced = _flat.parameters().First();
        using (var view = replaced.grad!)
        {
            replaced.grad = view.clone(); // same values, own memory
        }

        Assert.False(_contiguous.IsAttached);
        using var expected = Clipper(ClippingMode.LocalNorm, LocalNormScope.Layer).Clip(_plain);
        using var actual = Clipper(ClippingMode.LocalNorm, LocalNormScope.Layer).Clip(_flat);

        Gradients.AssertClose(expected.GroupNorms.Select(n => (float)n).ToArray(), actual.GroupNorms.Select(n => (float)n).ToArray(), 1e-6);
        AssertSameGradients(_plain, _flat);
    }

    [Fact]
    public void ZeroGrad_ZeroesEveryGradient_AndKeepsTheViews()
    {
        _flat.Backward(seed: 7);
        Assert.Contains(Gradients.Snapshot(_flat).SelectMany(g => g), x => x != 0);

        _contiguous.ZeroGrad();

        Assert.True(_contiguous.IsAttached);
        Assert.All(Gradients.Snapshot(_flat), g => Assert.All(g, x => Assert.Equal(0f, x)));
    }

    [Theory]
    [InlineData(1.0)]
    [InlineData(2.0)]
    [InlineData(3.0)]
    [InlineData(double.PositiveInfinity)]
    public void GradientNorms_OnTheViews_MatchTheNormsOfOrdinaryTensors(double normType)
    {
        _flat.Backward(seed: 8);
        using var scope = NewDisposeScope();
        var copies = _contiguous.Gradients.Select(g => g.clone()).ToArray();

        var fused = GradientNorms.PerTensor(_contiguous.Gradients, normType).data<double>().ToArray();
        var separate = GradientNorms.PerTensor(copies, normType).data<double>().ToArray();

        Gradients.AssertClose(separate.Select(n => (float)n).ToArray(), fused.Select(n => (float)n).ToArray(), 1e-6);
        Gradients.AssertClose(GradientNorms.Total(copies, normType).item<double>(), GradientNorms.Total(_contiguous.Gradients, normType).item<double>(), 1e-6);
    }

    [Fact]
    public void Constructor_ExistingGradients_AreCopiedIntoTheBuffer()
    {
        var parameters = Gradients.Named(("a", Gradients.With([3, 4])), ("b", Gradients.With([0, 12, 0, 0], 2, 2)));

        using var contiguous = new ContiguousGradients(parameters);
        using var report = Clipper(ClippingMode.GlobalNorm).Clip(parameters);

        Assert.True(contiguous.IsAttached);
        Assert.Equal(13.0, report.TotalNorm, 5);
        Gradients.AssertClose([0.05f * 3 / 13, 0.05f * 4 / 13], Gradients.Of(parameters[0].Parameter), 1e-5);
    }

    [Fact]
    public void Constructor_ParametersOfDifferentTypes_Throws()
    {
        var single = new Parameter(zeros(2), requires_grad: true);
        var @double = new Parameter(zeros(new long[] { 2 }, ScalarType.Float64), requires_grad: true);

        var error = Assert.Throws<ArgumentException>(() => new ContiguousGradients(Gradients.Named(("s", single), ("d", @double))));

        Assert.Equal("parameters", error.ParamName);
        Assert.Contains("'s' is Float32", error.Message, StringComparison.Ordinal);
        Assert.Contains("'d' is Float64", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Constructor_NoParameterRequiresAGradient_Throws()
    {
        var frozen = new Parameter(zeros(2), requires_grad: false);

        var error = Assert.Throws<ArgumentException>(() => new ContiguousGradients(Gradients.Named(("frozen", frozen))));

        Assert.Equal("parameters", error.ParamName);
    }
}
