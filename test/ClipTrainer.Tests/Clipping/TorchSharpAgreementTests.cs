using ClipTrainer.Clipping;
using TorchSharp;
using TorchSharp.Modules;
using Xunit;
using static TorchSharp.torch;

namespace ClipTrainer.Tests.Clipping;

/// <summary>
/// The clipper against TorchSharp's own <c>clip_grad_norm_</c> / <c>clip_grad_value_</c> on the real gradients of a
/// 2-layer bidirectional LSTM with a linear head: both start from the same gradient snapshot.
/// </summary>
public sealed class TorchSharpAgreementTests : IDisposable
{
    private const double Tolerance = 1e-5;
    private readonly SmallLstmModel _model = new();
    private readonly float[][] _snapshot;

    public TorchSharpAgreementTests()
    {
        Assert.Equal(18, _model.parameters().Count());
        _model.Backward(seed: 20240607);
        _snapshot = Gradients.Snapshot(_model);
    }

    public void Dispose() => _model.Dispose();

    private Parameter[] Parameters => _model.parameters().ToArray();

    private float[][] ClipWithTorchSharp(Action<Parameter[]> clip)
    {
        Gradients.Restore(_model, _snapshot);
        clip(Parameters);
        return Gradients.Snapshot(_model);
    }

    private (float[][] Gradients, GradientClipReport Report) ClipWithClipper(GradientClippingOptions options)
    {
        Gradients.Restore(_model, _snapshot);
        var report = GradientClipper.Create(options).Clip(_model);
        return (Gradients.Snapshot(_model), report);
    }

    private static void AssertSameGradients(float[][] expected, float[][] actual)
    {
        Assert.Equal(expected.Length, actual.Length);
        for (var i = 0; i < expected.Length; i++)
        {
            Gradients.AssertClose(expected[i], actual[i], Tolerance, absoluteTolerance: 1e-9);
        }
    }

    [Theory]
    [InlineData(1.0, 0.05)]
    [InlineData(2.0, 0.05)]
    [InlineData(double.PositiveInfinity, 0.005)]
    [InlineData(2.0, 1e6)]
    public void GlobalNorm_MatchesClipGradNorm(double normType, double threshold)
    {
        double torchNorm = 0;
        var expected = ClipWithTorchSharp(p => torchNorm = nn.utils.clip_grad_norm_(p, threshold, normType));

        var (actual, report) = ClipWithClipper(new() { Mode = ClippingMode.GlobalNorm, Threshold = threshold, NormType = normType });
        using (report)
        {
            Gradients.AssertClose(torchNorm, report.TotalNorm, 1e-6);
            Assert.Equal(threshold < 1, report.WasClipped);
            Assert.Equal(threshold < 1, threshold < torchNorm);
        }

        AssertSameGradients(expected, actual);
    }

    [Theory]
    [InlineData(0.001)]
    [InlineData(0.01)]
    [InlineData(10.0)]
    public void Value_MatchesClipGradValue(double bound)
    {
        var expected = ClipWithTorchSharp(p => nn.utils.clip_grad_value_(p, bound));

        var (actual, report) = ClipWithClipper(new() { Mode = ClippingMode.Value, Threshold = bound });
        report.Dispose();

        AssertSameGradients(expected, actual);
    }

    [Theory]
    [InlineData(1.0, 0.05)]
    [InlineData(2.0, 0.01)]
    [InlineData(double.PositiveInfinity, 0.002)]
    public void LocalNormPerParameter_MatchesClipGradNormOnEachParameter(double normType, double threshold)
    {
        var norms = new List<double>();
        var expected = ClipWithTorchSharp(ps =>
        {
            foreach (var p in ps)
            {
                norms.Add(nn.utils.clip_grad_norm_([p], threshold, normType));
            }
        });

        var (actual, report) = ClipWithClipper(new() { Mode = ClippingMode.LocalNorm, Threshold = threshold, NormType = normType });
        using (report)
        {
            Assert.Equal(_model.named_parameters().Select(p => p.name), report.GroupNames);
            Assert.Contains(report.Coefficients, c => c < 1);
            Gradients.AssertClose(norms.Select(n => (float)n).ToArray(), report.GroupNorms.Select(n => (float)n).ToArray(), 1e-6);
        }

        AssertSameGradients(expected, actual);
    }

    [Theory]
    [InlineData(1.0, 0.05)]
    [InlineData(2.0, 0.01)]
    [InlineData(double.PositiveInfinity, 0.002)]
    public void LocalNormPerLayer_MatchesClipGradNormOnEachLayer(double normType, double threshold)
    {
        // Layers written out by hand: both directions of LSTM layer k together, then the head.
        var names = _model.named_parameters().Select(p => p.name).ToArray();
        string[][] layers =
        [
            names.Where(n => n.StartsWith("lstm.", StringComparison.Ordinal) && (n.EndsWith("_l0", StringComparison.Ordinal) || n.EndsWith("_l0_reverse", StringComparison.Ordinal))).ToArray(),
            names.Where(n => n.StartsWith("lstm.", StringComparison.Ordinal) && (n.EndsWith("_l1", StringComparison.Ordinal) || n.EndsWith("_l1_reverse", StringComparison.Ordinal))).ToArray(),
            names.Where(n => n.StartsWith("head.", StringComparison.Ordinal)).ToArray(),
        ];
        Assert.Equal([8, 8, 2], layers.Select(l => l.Length));
        var norms = new List<double>();
        var expected = ClipWithTorchSharp(ps =>
        {
            foreach (var layer in layers)
            {
                norms.Add(nn.utils.clip_grad_norm_(layer.Select(n => ps[Array.IndexOf(names, n)]), threshold, normType));
            }
        });

        var (actual, report) = ClipWithClipper(new()
        {
            Mode = ClippingMode.LocalNorm, Threshold = threshold, NormType = normType, LocalScope = LocalNormScope.Layer,
        });
        using (report)
        {
            Assert.Equal(["lstm[l0]", "lstm[l1]", "head"], report.GroupNames);
            Assert.All(report.Coefficients, c => Assert.True(c < 1));
            Gradients.AssertClose(norms.Select(n => (float)n).ToArray(), report.GroupNorms.Select(n => (float)n).ToArray(), 1e-6);
        }

        AssertSameGradients(expected, actual);
    }

    [Fact]
    public void GlobalThenLocal_MatchesClipGradNormThenPerParameterClipGradNorm()
    {
        var expected = ClipWithTorchSharp(ps =>
        {
            nn.utils.clip_grad_norm_(ps, 0.05);
            foreach (var p in ps)
            {
                nn.utils.clip_grad_norm_([p], 0.01);
            }
        });

        var (actual, report) = ClipWithClipper(new() { Mode = ClippingMode.GlobalThenLocal, Threshold = 0.05, LocalThreshold = 0.01 });
        report.Dispose();

        AssertSameGradients(expected, actual);
    }

    [Fact]
    public void Facade_MatchesClipGradNorm()
    {
        double torchNorm = 0;
        var expected = ClipWithTorchSharp(p => torchNorm = nn.utils.clip_grad_norm_(p, 0.05));
        Gradients.Restore(_model, _snapshot);

        var norm = GradientClipping.ClipGradNormGlobal(Parameters, 0.05);

        Gradients.AssertClose(torchNorm, norm, 1e-6);
        AssertSameGradients(expected, Gradients.Snapshot(_model));
    }
}
