using System.Diagnostics;
using System.Globalization;
using ClipTrainer.Clipping;
using TorchSharp;
using static TorchSharp.torch;

namespace ClipTrainer.Samples;

/// <summary>
/// Benchmark: the cost of one clip call on the real gradients of a 2-layer LSTM (input 32, hidden 128, ~200 k
/// parameters), per strategy, as a ratio against TorchSharp's own <c>clip_grad_norm_</c> measured in the same process.
/// Rounds are interleaved (every method once per round) and the median is reported, so machine noise hits all rows
/// alike. The threshold is huge, so gradients keep their values and every call does the same work.
/// </summary>
/// <remarks>Arguments: <c>--rounds N</c> (default 300). Also prints the cost of one training step for scale.</remarks>
internal static class ClippingOverheadBenchmark
{
    public const string Name = "clip-benchmark";

    public static void Run(string[] args)
    {
        int rounds = SampleArguments.ParseWithoutOutput(Name, args, SampleArguments.Rounds).Number(SampleArguments.Rounds, 300);
        torch.random.manual_seed(7);
        using var lstm = nn.LSTM(32, 128, numLayers: 2, batchFirst: true);
        using var head = nn.Linear(128, 5);
        var named = lstm.named_parameters().Select(p => ("lstm." + p.name, p.parameter))
            .Concat(head.named_parameters().Select(p => ("head." + p.name, p.parameter))).ToList();
        var parameters = named.Select(p => p.Item2).ToList();
        using var input = randn(64, 50, 32);
        using var labels = randint(0, 5, [64]);

        // A raw TorchSharp forward + backward, timed as the scale for the clip calls: a baseline on purpose, not a second
        // training loop (it never steps an optimizer; the samples train through SequenceTrainingLoop).
        double TrainingStep()
        {
            using var scope = NewDisposeScope();
            foreach (var p in parameters) p.grad?.zero_();
            var (output, _, _) = lstm.call(input);
            var loss = nn.functional.cross_entropy(head.call(output[.., -1, ..]), labels);
            loss.backward();
            return loss.item<float>();
        }
        TrainingStep();

        const double Huge = 1e12;
        var methods = new List<(string Name, Action Clip)>
        {
            ("TorchSharp clip_grad_norm_ (L2)", () => nn.utils.clip_grad_norm_(parameters, Huge)),
            ("GradientClipper GlobalNorm L2", Clipper(ClippingMode.GlobalNorm, 2, named)),
            ("GradientClipper GlobalNorm L1", Clipper(ClippingMode.GlobalNorm, 1, named)),
            ("GradientClipper GlobalNorm Inf", Clipper(ClippingMode.GlobalNorm, double.PositiveInfinity, named)),
            ("GradientClipper LocalNorm (parameter)", Clipper(ClippingMode.LocalNorm, 2, named)),
            ("GradientClipper LocalNorm (layer)", Clipper(ClippingMode.LocalNorm, 2, named, LocalNormScope.Layer)),
            ("GradientClipper GlobalThenLocal", Clipper(ClippingMode.GlobalThenLocal, 2, named)),
            ("GradientClipper Value", Clipper(ClippingMode.Value, 2, named)),
            ("TorchSharp clip_grad_value_", () => nn.utils.clip_grad_value_(parameters, Huge)),
            ("GradientClipping.ClipGradNormGlobal", () => GradientClipping.ClipGradNormGlobal(parameters, Huge)),
            ("seed literal: .item() per parameter", () => SeedLiteralGlobal(parameters, Huge)),
        };

        var samples = methods.Select(_ => new List<double>(rounds)).ToArray();
        var watch = new Stopwatch();
        for (int round = 0; round < rounds; round++)
        {
            for (int m = 0; m < methods.Count; m++)
            {
                using var scope = NewDisposeScope();
                watch.Restart();
                methods[m].Clip();
                samples[m].Add(watch.Elapsed.TotalMicroseconds);
            }
        }
        var stepTimes = Enumerable.Range(0, 20).Select(_ => { watch.Restart(); TrainingStep(); return watch.Elapsed.TotalMicroseconds; }).ToList();

        double baseline = Median(samples[0]);
        Console.WriteLine($"{parameters.Sum(p => p.numel()):N0} parameters in {parameters.Count} tensors; {rounds} interleaved rounds; median per call.");
        Console.WriteLine($"{"method",-40} {"µs/call",10} {"× clip_grad_norm_",18}");
        for (int m = 0; m < methods.Count; m++)
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"{methods[m].Name,-40} {Median(samples[m]),10:F0} {Median(samples[m]) / baseline,18:F2}"));
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"{"(one forward + backward, batch 64 × 50)",-40} {Median(stepTimes),10:F0} {Median(stepTimes) / baseline,18:F2}"));
    }

    private static Action Clipper(ClippingMode mode, double p, IReadOnlyList<(string, TorchSharp.Modules.Parameter)> named,
        LocalNormScope scope = LocalNormScope.Parameter)
    {
        var clipper = GradientClipper.Create(new GradientClippingOptions { Mode = mode, Threshold = 1e12, LocalThreshold = 1e12, NormType = p, LocalScope = scope });
        return () => clipper.Clip(named).Dispose();
    }

    /// <summary>The seed's Python sketch, line for line: a host read of every parameter's norm.</summary>
    private static void SeedLiteralGlobal(IReadOnlyList<TorchSharp.Modules.Parameter> parameters, double clipValue)
    {
        double total = 0;
        foreach (var p in parameters) total += Math.Pow(p.grad!.norm().item<float>(), 2);
        total = Math.Sqrt(total);
        double coefficient = clipValue / (total + 1e-6);
        if (coefficient < 1) foreach (var p in parameters) p.grad!.mul_(coefficient);
    }

    private static double Median(List<double> values)
    {
        var sorted = values.Order().ToList();
        return sorted[sorted.Count / 2];
    }
}
