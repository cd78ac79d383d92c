using ClipTrainer.Clipping;
using TorchSharp;
using Xunit;

namespace ClipTrainer.Tests.Clipping;

public sealed class GradientClipReportTests
{
    [Theory]
    [InlineData(ClippingMode.None, LocalNormScope.Parameter)]
    [InlineData(ClippingMode.GlobalNorm, LocalNormScope.Parameter)]
    [InlineData(ClippingMode.LocalNorm, LocalNormScope.Parameter)]
    [InlineData(ClippingMode.LocalNorm, LocalNormScope.Layer)]
    [InlineData(ClippingMode.Value, LocalNormScope.Parameter)]
    [InlineData(ClippingMode.GlobalThenLocal, LocalNormScope.Layer)]
    public void Dispose_LeavesNoLiveTensorBehind(ClippingMode mode, LocalNormScope scope)
    {
        (string, TorchSharp.Modules.Parameter)[] parameters =
            [("l.weight", Gradients.With([3, 4])), ("l.bias", Gradients.With([1])), ("m.weight", Gradients.With([0, 12]))];
        var clipper = GradientClipper.Create(new GradientClippingOptions { Mode = mode, Threshold = 1, LocalScope = scope });
        var before = DisposeScopeManager.Statistics.ThreadTotalLiveCount;

        using (var report = clipper.Clip(parameters))
        {
            _ = report.TotalNorm;
            _ = report.GroupNorms;
            _ = report.Coefficients;
            _ = report.WasClipped;
        }

        Assert.Equal(before, DisposeScopeManager.Statistics.ThreadTotalLiveCount);
    }

    [Fact]
    public void Values_ReadBeforeDispose_StayAvailable_OthersThrow()
    {
        // AutoClip's threshold is a device tensor: its stage keeps tensors, which are read on first use.
        var report = GradientClipper.Create(new GradientClippingOptions { Mode = ClippingMode.AutoClip })
            .Clip([("p", Gradients.With([3, 4]))]);
        var total = report.TotalNorm;

        report.Dispose();

        Assert.True(report.TotalNormTensor.IsInvalid);
        Assert.Equal(total, report.TotalNorm);
        Assert.Throws<ObjectDisposedException>(() => report.GroupNorms);
    }

    [Fact]
    public void LocalNorm_OnTheCpu_StageHoldsItsValues_AvailableAfterDispose()
    {
        // On the CPU the local rule reads its group norms: the stage is numbers, so disposing loses nothing.
        var report = GradientClipper.Create(new GradientClippingOptions { Mode = ClippingMode.LocalNorm, Threshold = 1 })
            .Clip([("p", Gradients.With([3, 4])), ("q", Gradients.With([0.6f, 0.8f]))]);

        report.Dispose();

        Assert.Equal([5.0, 1.0], report.GroupNorms.Select(n => Math.Round(n, 6)));
        Assert.Equal(1 / (5 + 1e-6), report.Coefficients[0], 15);
        Assert.Equal(Math.Min(1, 1 / (1.0000000298023224 + 1e-6)), report.Coefficients[1], 6);
        Assert.True(report.Stages[0].WasClipped); // the report's own flag was a tensor (a group was scaled), never read
    }

    [Fact]
    public void Tensors_OutliveTheClipCall_UntilTheReportIsDisposed()
    {
        using var report = GradientClipper.Create(new GradientClippingOptions()).Clip([("p", Gradients.With([3, 4]))]);

        Assert.False(report.TotalNormTensor.IsInvalid);
        Assert.Equal(0, report.TotalNormTensor.dim());
        Assert.False(report.Stages[0].GroupNormsTensor.IsInvalid);
        Assert.True(report.WasClippedTensor.item<bool>());
        Gradients.AssertClose(5.0, report.TotalNormTensor.item<double>(), 1e-7);
    }

    [Fact]
    public void GroupNorms_ReturnsACopy()
    {
        using var report = GradientClipper.Create(new GradientClippingOptions()).Clip([("p", Gradients.With([3, 4]))]);

        report.GroupNorms[0] = -1;

        Gradients.AssertClose(5.0, report.GroupNorms[0], 1e-7);
    }
}
