using ClipTrainer.Clipping;
using TorchSharp.Modules;
using Xunit;

namespace ClipTrainer.Tests.Clipping;

/// <summary>
/// The local norm's host path on the CPU (group norms read once, coefficients and the scaling decision on the host),
/// checked bit for bit against the device path of the public split API (<see cref="GradientNorms.ClipWithNorms"/>).
/// </summary>
public sealed class LocalNormHostPathTests
{
    private static (string Name, Parameter Parameter)[] Parameters() =>
    [
        ("lstm.weight_ih_l0", Gradients.With([0.3f, -1.7f, 2.25f, 0.001f, -0.6f, 4.1f], 2, 3)),
        ("lstm.bias_ih_l0", Gradients.With([1.5f, -0.25f])),
        ("head.weight", Gradients.With([0.01f, 0.02f, -0.03f])),
    ];

    [Theory]
    [InlineData(LocalNormScope.Parameter, 1.0)]
    [InlineData(LocalNormScope.Layer, 1.0)]
    [InlineData(LocalNormScope.Parameter, 100.0)] // nothing clipped
    public void Clip_HostPath_EqualsTheDevicePath_BitForBit(LocalNormScope scope, double threshold)
    {
        var host = Parameters();
        var device = Parameters();
        var names = device.Select(p => p.Name).ToArray();
        var gradients = device.Select(p => p.Parameter.grad!).ToArray();
        var groups = scope == LocalNormScope.Layer ? GradientGrouping.ByLayer(names) : GradientGrouping.ByParameter(names);

        using var report = new GradientClipper(new LocalNormClippingRule(threshold, scope: scope)).Clip(host);
        using var norms = GradientNorms.PerGroup(GradientNorms.PerTensor(gradients, 2), groups, 2);
        using var coefficients = GradientNorms.ClipWithNorms(gradients, groups, norms, threshold);

        for (var i = 0; i < host.Length; i++)
        {
            Assert.Equal(Gradients.Of(device[i].Parameter), Gradients.Of(host[i].Parameter)); // exact float equality
        }

        Assert.Equal(coefficients.data<double>().ToArray(), report.Coefficients);
        Assert.Equal(norms.data<double>().ToArray(), report.GroupNorms);
        Assert.Equal(threshold < 5, report.WasClipped);
    }
}
