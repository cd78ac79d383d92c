using ClipTrainer.Clipping;
using TorchSharp;
using TorchSharp.Modules;
using Xunit;
using static TorchSharp.torch;

namespace ClipTrainer.Tests.Clipping;

/// <summary>
/// The global norm's host path: the clipper's non-finite check reads the total, so the rule decides and scales on the
/// host and the report is numbers. Checked against the device path (the same rule on a context whose total nobody read),
/// bit for bit, and for what a report must still give: its tensors, on demand, of the device path's type and shape.
/// </summary>
public sealed class GlobalNormHostPathTests
{
    private static readonly float[] Weight = [0.3f, -1.7f, 2.25f, 0.001f, -0.6f, 4.1f];
    private static readonly float[] Bias = [1.5f, -0.25f];

    private static (string Name, Parameter Parameter)[] Parameters() =>
        [("layer.weight", Gradients.With(Weight, 2, 3)), ("layer.bias", Gradients.With(Bias))];

    [Theory]
    [InlineData(1.0)] // clipped: ‖g‖ ≈ 5.3
    [InlineData(100.0)] // not clipped
    public void Clip_HostPath_ScalesBitForBitAsTheDevicePath(double threshold)
    {
        var host = Parameters();
        var device = Parameters();
        var clipper = new GradientClipper(new GlobalNormClippingRule(threshold));

        using var report = clipper.Clip(host);
        using var context = new GradientClipContext(device.Select(p => p.Name).ToArray(), device.Select(p => p.Parameter.grad!).ToArray());
        var stages = new GlobalNormClippingRule(threshold).Apply(context);
        using var stage = Assert.Single(stages);

        for (var i = 0; i < host.Length; i++)
        {
            Assert.Equal(Gradients.Of(device[i].Parameter), Gradients.Of(host[i].Parameter)); // exact float equality
        }

        var hostStage = Assert.Single(report.Stages);
        Assert.Equal(stage.GroupNorms, hostStage.GroupNorms);
        Assert.Equal(stage.Coefficients, hostStage.Coefficients);
        Assert.Equal(stage.WasClipped, hostStage.WasClipped);
        Assert.Equal(threshold < 5, report.WasClipped);
        AssertSameKind(stage.GroupNormsTensor, hostStage.GroupNormsTensor);
        AssertSameKind(stage.CoefficientsTensor, hostStage.CoefficientsTensor);
        AssertSameKind(stage.ClippedTensor, hostStage.ClippedTensor);
        Assert.Equal(stage.GroupNorms[0] * stage.Coefficients[0], report.PostClipNorm);
    }

    [Fact]
    public void Clip_NotClipped_LeavesTheGradientsUntouched_CoefficientExactlyOne()
    {
        var parameters = Parameters();

        using var report = new GradientClipper(new GlobalNormClippingRule(100)).Clip(parameters);

        Assert.Equal(Weight, Gradients.Of(parameters[0].Parameter));
        Assert.Equal(Bias, Gradients.Of(parameters[1].Parameter));
        Assert.Equal([1.0], report.Coefficients);
        Assert.False(report.WasClipped);
        Assert.Equal(report.TotalNorm, report.PostClipNorm);
    }

    [Fact]
    public void Clip_HostPath_ReportHoldsNoTensorUntilOneIsAskedFor()
    {
        var parameters = Parameters();
        var clipper = new GradientClipper(new GlobalNormClippingRule(1.0));
        var before = DisposeScopeManager.Statistics.ThreadTotalLiveCount;

        var report = clipper.Clip(parameters);
        var afterClip = DisposeScopeManager.Statistics.ThreadTotalLiveCount;
        var total = report.TotalNormTensor;
        var afterAsking = DisposeScopeManager.Statistics.ThreadTotalLiveCount;
        report.Dispose();

        Assert.Equal(before, afterClip);
        Assert.Equal(before + 1, afterAsking);
        Assert.Equal(before, DisposeScopeManager.Statistics.ThreadTotalLiveCount);
        Assert.True(total.IsInvalid);
    }

    [Fact]
    public void Tensors_MadeOnDemand_HaveTheDevicePathsTypesAndValues()
    {
        using var report = new GradientClipper(new GlobalNormClippingRule(1.0)).Clip(Parameters());
        var expectedTotal = Math.Sqrt(Weight.Concat(Bias).Sum(v => (double)v * v));

        Assert.Equal(ScalarType.Float64, report.TotalNormTensor.dtype);
        Assert.Equal(0, report.TotalNormTensor.dim());
        Gradients.AssertClose(expectedTotal, report.TotalNormTensor.item<double>(), 1e-6);
        Assert.Equal(report.TotalNorm, report.TotalNormTensor.item<double>());
        Assert.Equal(report.PostClipNorm, report.PostClipNormTensor.item<double>());
        Assert.Equal(ScalarType.Bool, report.WasClippedTensor.dtype);
        Assert.Equal(0, report.WasClippedTensor.dim());
        Assert.True(report.WasClippedTensor.item<bool>());
        Assert.Same(report.TotalNormTensor, report.TotalNormTensor); // made once
        Assert.Equal(DeviceType.CPU, report.Stages[0].CoefficientsTensor.device_type);
    }

    [Fact]
    public void Dispose_BeforeATensorWasAskedFor_ValuesStay_TensorsThrow()
    {
        var report = new GradientClipper(new GlobalNormClippingRule(1.0)).Clip(Parameters());
        var total = report.TotalNorm;

        report.Dispose();

        Assert.Equal(total, report.TotalNorm);
        Assert.True(report.WasClipped);
        Assert.Throws<ObjectDisposedException>(() => report.TotalNormTensor);
        Assert.Throws<ObjectDisposedException>(() => report.Stages[0].GroupNormsTensor);
    }

    [Fact]
    public void Clip_GlobalThenLocal_HostStageThenDeviceStage_ReportsBoth()
    {
        // The global stage works on the host, the local one on the device: the report takes the device path and asks
        // the global stage for its tensors (made then), and the post-clip norm is measured after both.
        var parameters = Parameters();
        var clipper = GradientClipper.Create(new GradientClippingOptions
        {
            Mode = ClippingMode.GlobalThenLocal, Threshold = 4, LocalThreshold = 1, LocalScope = LocalNormScope.Parameter,
        });

        using var report = clipper.Clip(parameters);

        Assert.Equal(2, report.Stages.Count);
        Assert.True(report.WasClippedTensor.item<bool>());
        var weight = Gradients.Of(parameters[0].Parameter).Sum(v => (double)v * v);
        var bias = Gradients.Of(parameters[1].Parameter).Sum(v => (double)v * v);
        Gradients.AssertClose(Math.Sqrt(weight + bias), report.PostClipNorm, 1e-6);
        Assert.True(Math.Sqrt(weight) <= 1 + 1e-6 && Math.Sqrt(bias) <= 1 + 1e-6);
    }

    private static void AssertSameKind(Tensor expected, Tensor actual)
    {
        Assert.Equal(expected.dtype, actual.dtype);
        Assert.Equal(expected.shape, actual.shape);
        Assert.Equal(expected.device_type, actual.device_type);
    }
}
