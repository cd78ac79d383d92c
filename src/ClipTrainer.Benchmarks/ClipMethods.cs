using ClipTrainer.Clipping;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace ClipTrainer.Benchmarks;

/// <summary>The clip implementations compared: ours, TorchSharp's own, and the lecture's per-parameter sketch.</summary>
internal static class ClipMethods
{
    /// <summary>TorchSharp's <c>clip_grad_norm_</c> (libtorch's C++ implementation, float32 norms).</summary>
    public static void TorchSharpClipGradNorm(BenchmarkModel model, double threshold) =>
        nn.utils.clip_grad_norm_(model.Parameters, threshold);

    /// <summary>A clipper built from options, applied to the model; the report is disposed unread.</summary>
    public static Action<BenchmarkModel> Clipper(ClippingMode mode, double threshold, LocalNormScope scope = LocalNormScope.Parameter, double normType = 2)
    {
        var clipper = GradientClipper.Create(new GradientClippingOptions
        {
            Mode = mode, Threshold = threshold, LocalThreshold = threshold, LocalScope = scope, NormType = normType,
        });
        return model => clipper.Clip(model.Named).Dispose();
    }

    /// <summary>The lecture's sketch, line for line: one host read of every parameter's norm, then a multiply if needed.</summary>
    public static void LecturePerParameterItem(BenchmarkModel model, double threshold)
    {
        double total = 0;
        foreach (var p in model.Parameters)
        {
            using var g = p.grad!;
            using var norm = g.norm();
            total += Math.Pow(norm.item<float>(), 2);
        }

        total = Math.Sqrt(total);
        var coefficient = threshold / (total + 1e-6);
        if (coefficient < 1)
        {
            foreach (var p in model.Parameters)
            {
                using var g = p.grad!;
                g.mul_(coefficient);
            }
        }
    }

    /// <summary>The global L2 norm of a model's gradients in float64, element by element, as a threshold reference.</summary>
    public static double ReferenceNorm(BenchmarkModel model)
    {
        using var scope = NewDisposeScope();
        return Math.Sqrt(model.Parameters.Sum(p => { using var g = p.grad!; return g.to(ScalarType.Float64).square().sum().item<double>(); }));
    }
}
