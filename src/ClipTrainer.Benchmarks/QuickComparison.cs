using System.Diagnostics;
using System.Globalization;
using ClipTrainer.Clipping;
using TorchSharp;
using static TorchSharp.torch;

namespace ClipTrainer.Benchmarks;

/// <summary>
/// The quick mode: the clip rows of issue 7 as ratios measured in one process, on one libtorch thread, in
/// interleaved rounds (every method once per round, gradients restored from a snapshot before each timed call, so
/// every call clips real gradients by the same coefficient), with medians; /proc/loadavg before and after.
/// </summary>
/// <remarks>Arguments: <c>quick [--rounds N] [--part clip|data|profile]</c>: N/100 scales every row's round count (default
/// 100); <c>--part</c> runs only the clip rows, only the data-path rows (<see cref="DataPathComparison"/>), or the
/// per-stage step profile (<see cref="StepProfile"/>, not part of the default run).</remarks>
internal static class QuickComparison
{
    public static void Run(string[] args)
    {
        var at = Array.IndexOf(args, "--rounds");
        var scale = at >= 0 ? int.Parse(args[at + 1], CultureInfo.InvariantCulture) / 100.0 : 1.0;
        var partAt = Array.IndexOf(args, "--part");
        var part = partAt >= 0 ? args[partAt + 1] : "all";
        if (part is not ("all" or "clip" or "data" or "profile"))
        {
            throw new ArgumentException($"--part must be clip, data or profile; got '{part}'.", nameof(args));
        }

        torch.set_num_threads(1);
        var started = Stopwatch.StartNew();
        Console.WriteLine($"ClipTrainer quick benchmark, {DateTime.UtcNow:yyyy-MM-dd HH:mm} UTC, libtorch threads: {torch.get_num_threads()}, " +
            $"{Environment.ProcessorCount} cores, load before: {LoadAverage()}");
        if (part == "profile")
        {
            StepProfile.Run(scale);
            return;
        }

        if (part != "data")
        {
            Console.WriteLine("Medians of interleaved rounds; µs per clip call (global L2 unless named), threshold = half the gradients' norm.");
            Console.WriteLine();
            CompareSmall(BenchmarkModel.SeedRnn, (int)(3000 * scale));
            CompareSmall(BenchmarkModel.Lstm128, (int)(600 * scale), withStep: true);
            CompareLarge((int)(40 * scale));
            Console.WriteLine();
        }

        if (part != "clip")
        {
            DataPathComparison.Run(scale);
        }

        Console.WriteLine($"Load after: {LoadAverage()}; {started.Elapsed.TotalSeconds:F0} s.");
    }

    private static void CompareSmall(Func<BenchmarkModel> create, int rounds, bool withStep = false)
    {
        using var perTensor = create();
        using var flat = create();
        using var contiguous = new ContiguousGradients(flat.Named);
        flat.TakeGradientsOf(perTensor);
        var threshold = 0.5 * ClipMethods.ReferenceNorm(perTensor);
        var methods = new (string Name, BenchmarkModel Model, Action<BenchmarkModel> Clip)[]
        {
            ("ours", perTensor, ClipMethods.Clipper(ClippingMode.GlobalNorm, threshold)),
            ("clip_grad_norm_", perTensor, m => ClipMethods.TorchSharpClipGradNorm(m, threshold)),
            ("lecture .item()", perTensor, m => ClipMethods.LecturePerParameterItem(m, threshold)),
            ("ours, contiguous", flat, ClipMethods.Clipper(ClippingMode.GlobalNorm, threshold)),
            ("local (parameter)", perTensor, ClipMethods.Clipper(ClippingMode.LocalNorm, threshold)),
            ("local (parameter), contiguous", flat, ClipMethods.Clipper(ClippingMode.LocalNorm, threshold)),
            ("local (layer)", perTensor, ClipMethods.Clipper(ClippingMode.LocalNorm, threshold, LocalNormScope.Layer)),
            ("local (layer), contiguous", flat, ClipMethods.Clipper(ClippingMode.LocalNorm, threshold, LocalNormScope.Layer)),
            ("global then local", perTensor, ClipMethods.Clipper(ClippingMode.GlobalThenLocal, threshold)),
            ("global then local, contiguous", flat, ClipMethods.Clipper(ClippingMode.GlobalThenLocal, threshold)),
            ("value", perTensor, ClipMethods.Clipper(ClippingMode.Value, threshold)),
        };
        // The floor of any global clip: one norm pass and one scaling pass over the gradients, as bare libtorch calls
        // on the contiguous buffer (no report, no check, no float64 combination).
        using var buffer = cat(flat.Parameters.Select(p => { using var g = p.grad!; return g.flatten(); }).ToArray());
        using var factor = tensor(1f); // 1: the same work every round, values never decay
        var timed = methods.Select(m => ((BenchmarkModel?)m.Model, (Action)(() => m.Clip(m.Model))))
            .Append((null, () => { linalg.vector_norm(buffer).Dispose(); buffer.mul_(factor); }))
            .ToArray();
        var medians = Measure(timed, rounds);
        var floor = medians[^1];
        double Of(string name) => medians[Array.FindIndex(methods, m => m.Name == name)];

        Console.WriteLine($"{perTensor.Title}: {perTensor.ParameterCount:N0} parameters in {perTensor.Parameters.Length} tensors, {rounds} rounds");
        Row("ours / clip_grad_norm_ / lecture / contiguous (µs)", $"{Of("ours"):F1} / {Of("clip_grad_norm_"):F1} / {Of("lecture .item()"):F1} / {Of("ours, contiguous"):F1}");
        Row("floor: one vector_norm + one mul_ over all gradients, bare calls (µs)", $"{floor:F1}");
        Row("clip_grad_norm_ ÷ ours; ÷ contiguous (target ≥ 1.5)", $"{Of("clip_grad_norm_") / Of("ours"):F2}; {Of("clip_grad_norm_") / Of("ours, contiguous"):F2}");
        Row("lecture ÷ ours; ÷ contiguous (target ≥ 2.5)", $"{Of("lecture .item()") / Of("ours"):F2}; {Of("lecture .item()") / Of("ours, contiguous"):F2}");
        Row("local (parameter) ÷ global; contiguous (target ≤ 1.5)", $"{Of("local (parameter)") / Of("ours"):F2}; {Of("local (parameter), contiguous") / Of("ours, contiguous"):F2}");
        Row("local (layer) ÷ global; contiguous", $"{Of("local (layer)") / Of("ours"):F2}; {Of("local (layer), contiguous") / Of("ours, contiguous"):F2}");
        Row("global then local ÷ global; contiguous", $"{Of("global then local") / Of("ours"):F2}; {Of("global then local, contiguous") / Of("ours, contiguous"):F2}");
        Row("value ÷ global", $"{Of("value") / Of("ours"):F2}");
        if (withStep)
        {
            var step = TrainingStepMedian(perTensor, 30);
            Row("training step, batch 128 × 28 (µs)", $"{step:F0}");
            Row("clip ÷ step: global, local, global then local, value (target ≤ 2 %)",
                string.Join(", ", new[] { "ours", "local (parameter)", "global then local", "value" }.Select(n => $"{100 * Of(n) / step:F2} %")) +
                $"; contiguous global {100 * Of("ours, contiguous") / step:F2} %");
        }

        Console.WriteLine();
    }

    private static void CompareLarge(int rounds)
    {
        using var perTensor = BenchmarkModel.Lstm1024();
        using var flat = BenchmarkModel.Lstm1024();
        using var contiguous = new ContiguousGradients(flat.Named);
        flat.TakeGradientsOf(perTensor);
        var threshold = 0.5 * ClipMethods.ReferenceNorm(perTensor);
        var bytes = perTensor.ParameterCount * sizeof(float);
        using var source = randn(perTensor.ParameterCount);
        using var target = zeros(perTensor.ParameterCount);
        var ours = ClipMethods.Clipper(ClippingMode.GlobalNorm, threshold);
        var local = ClipMethods.Clipper(ClippingMode.LocalNorm, threshold);
        var medians = Measure(
        [
            (perTensor, () => ours(perTensor)),
            (perTensor, () => ClipMethods.TorchSharpClipGradNorm(perTensor, threshold)),
            (flat, () => ours(flat)),
            (null, () => target.copy_(source)),
            (perTensor, () => local(perTensor)),
            (flat, () => local(flat)),
        ], rounds);
        var copy = medians[3];
        var bandwidth = 2.0 * bytes / (copy * 1e-6); // a copy reads and writes every byte once
        var bound = 3.0 * bytes / bandwidth * 1e6;  // norm: one read; scale: one read and one write
        Console.WriteLine($"{perTensor.Title}: {perTensor.ParameterCount:N0} parameters in {perTensor.Parameters.Length} tensors, {rounds} rounds");
        Row("ours / clip_grad_norm_ / contiguous (ms)", $"{medians[0] / 1000:F2} / {medians[1] / 1000:F2} / {medians[2] / 1000:F2}");
        Row("copy bandwidth; bound = 3 passes (ms)", $"{bandwidth / 1e9:F1} GB/s; {bound / 1000:F2}");
        Row("ours ÷ bound; clip_grad_norm_ ÷ bound; contiguous ÷ bound (target ≤ 1.3)", $"{medians[0] / bound:F2}; {medians[1] / bound:F2}; {medians[2] / bound:F2}");
        Row("local (parameter) ÷ global; contiguous", $"{medians[4] / medians[0]:F2}; {medians[5] / medians[2]:F2}");
    }

    /// <summary>Interleaved rounds: per round, each method once, after restoring its model's gradients (untimed).</summary>
    private static double[] Measure((BenchmarkModel? Model, Action Run)[] methods, int rounds)
    {
        var samples = methods.Select(_ => new List<double>(rounds)).ToArray();
        var watch = new Stopwatch();
        for (var round = -3; round < rounds; round++)
        {
            for (var m = 0; m < methods.Length; m++)
            {
                using var scope = NewDisposeScope();
                methods[m].Model?.Restore();
                watch.Restart();
                methods[m].Run();
                var elapsed = watch.Elapsed.TotalMicroseconds;
                if (round >= 0)
                {
                    samples[m].Add(elapsed);
                }
            }
        }

        return samples.Select(Median).ToArray();
    }

    private static double TrainingStepMedian(BenchmarkModel model, int steps)
    {
        using var optimizer = optim.Adam(model.parameters(), 1e-3);
        var samples = new List<double>();
        var watch = new Stopwatch();
        for (var i = -2; i < steps; i++)
        {
            watch.Restart();
            optimizer.zero_grad();
            model.Backward();
            optimizer.step();
            if (i >= 0)
            {
                samples.Add(watch.Elapsed.TotalMicroseconds);
            }
        }

        return Median(samples);
    }

    private static void Row(string what, string value) => Console.WriteLine($"  {what,-78} {value}");

    private static double Median(List<double> values)
    {
        var sorted = values.Order().ToList();
        return sorted[sorted.Count / 2];
    }

    private static string LoadAverage() =>
        File.Exists("/proc/loadavg") ? string.Join(' ', File.ReadAllText("/proc/loadavg").Split(' ').Take(3)) : "n/a";
}
