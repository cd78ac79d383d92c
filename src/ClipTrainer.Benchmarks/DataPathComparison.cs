using System.Diagnostics;
using System.Globalization;
using ClipTrainer.Data;
using ClipTrainer.Training;
using Microsoft.ML;
using Microsoft.ML.Data;
using TorchSharp;
using static TorchSharp.torch;

namespace ClipTrainer.Benchmarks;

/// <summary>
/// The data-path rows of issue 7, in the quick mode: the ML.NET trainer's <c>Fit</c> against a hand-written TorchSharp
/// loop (the same model shape, Adam, TorchSharp's <c>clip_grad_norm_</c>, the data as resident tensors indexed with
/// <c>index_select</c>, the trainer's batch order), interleaved rounds in ABBA order, medians of per-round ratios; managed allocation per step; peak RSS
/// of each side in a child process of its own; batched <c>Transform</c> against a bare no_grad forward.
/// </summary>
internal static class DataPathComparison
{
    /// <summary>The hidden argument that runs one peak-memory child: <c>quick-rss-child fit|raw</c>.</summary>
    public const string RssChildArgument = "quick-rss-child";

    /// <summary>Steps whose allocation is not counted: the first steps set up the gradients, buffers and the optimizer's moments.</summary>
    private const int SetUpSteps = 3;

    private const int RssRows = 60_000;
    private const int RssSteps = 40;

    public static void Run(double scale)
    {
        var rounds = Math.Max(3, (int)(7 * scale));
        Console.WriteLine("Data path: the ML.NET trainer (Fit) against a hand-written TorchSharp loop: the same model shape, Adam 1e-3, global L2");
        Console.WriteLine("clipping at 1 (clip_grad_norm_ in the loop), one epoch in the same batch order; the loop's data are resident tensors.");
        Console.WriteLine("Synthetic data (uniform features, random labels). Throughput ratios: raw time ÷ Fit time (1 = no cost).");
        Console.WriteLine();
        Compare(DataPathTask.SeedRnn(3200), 2 * rounds + 1); // a fit of 0.2 s: rounds are cheap, and the spread is the machine's
        Compare(DataPathTask.Lstm2x128(2048), rounds);
        PeakMemory();
    }

    private static void Compare(DataPathTask task, int rounds)
    {
        var mlContext = new MLContext(seed: 0);
        var data = task.DataView(mlContext);
        var (features, labels) = task.Tensors();
        using var _ = features;
        using var __ = labels;
        using var order = tensor(task.FirstEpochOrder());
        var probe = new StepProbe();
        var (fitWhole, fitLoop, raw, fitBytes, rawBytes) = (new List<double>(), new List<double>(), new List<double>(), new List<double>(), new List<double>());
        var (wholeRatios, loopRatios) = (new List<double>(), new List<double>());
        SequenceTransformer? fitted = null;
        for (var round = -1; round < rounds; round++)
        {
            // ABBA: odd rounds run the loop first, so neither side always follows the other (the machine drifts in seconds).
            double rawSeconds = 0, rawPerStep = 0;
            if (round % 2 != 0) (rawSeconds, rawPerStep) = TimedRawLoop(task, features, labels, order);
            Settle();
            var watch = Stopwatch.StartNew();
            var transformer = mlContext.MulticlassClassification.Trainers.ClipTrainer(task.Options(probe)).Fit(data);
            var whole = watch.Elapsed.TotalSeconds;
            if (probe.Steps != task.BatchesPerEpoch) // the same work on both sides, or the ratio means nothing
                throw new InvalidOperationException($"Fit ran {probe.Steps} steps, the hand-written loop runs {task.BatchesPerEpoch}: rows were skipped.");
            fitted?.Dispose();
            fitted = transformer;
            if (round % 2 == 0) (rawSeconds, rawPerStep) = TimedRawLoop(task, features, labels, order);
            if (round < 0) continue; // JIT and first-touch warm-up
            fitWhole.Add(whole);
            fitLoop.Add(probe.LoopSeconds);
            fitBytes.Add(probe.BytesPerStep);
            raw.Add(rawSeconds);
            rawBytes.Add(rawPerStep);
            wholeRatios.Add(rawSeconds / whole);
            loopRatios.Add(rawSeconds / probe.LoopSeconds);
        }

        var (transform, forward, read) = CompareScoring(task, fitted!, data, features, Math.Max(3, rounds));
        fitted!.Dispose();
        var (w, l, r) = (Median(fitWhole), Median(fitLoop), Median(raw));
        Console.WriteLine($"{task.Title}: {task.Rows.Count} rows, {task.BatchesPerEpoch} steps per fit, {rounds} rounds, load {LoadAverage()}");
        Row("Fit ÷ raw throughput, whole Fit (ML.NET data preparation included; target ≥ 0.97)", Spread(wholeRatios));
        Row("Fit ÷ raw throughput, training loop only (OnTrainingStart → OnTrainingEnd)", Spread(loopRatios));
        Row("ms per epoch: whole Fit / Fit's loop / raw loop", $"{1000 * w:F0} / {1000 * l:F0} / {1000 * r:F0}");
        var (fb, rb) = (Median(fitBytes), Median(rawBytes));
        Row("managed bytes per step, training thread: Fit / raw (Fit ÷ raw; target ≤ 2)", $"{fb:F0} / {rb:F0} ({F(fb / rb)})");
        Row("batched Transform ÷ raw no_grad forward, throughput (target ≥ 0.9)", $"{F(forward / transform)} ({1000 * transform:F1} / {1000 * forward:F1} ms)");
        Row("  of which reading the feature column through IDataView alone (ms)", $"{1000 * read:F1}");
        Console.WriteLine();
    }

    private static (double Seconds, double BytesPerStep) TimedRawLoop(DataPathTask task, Tensor features, Tensor labels, Tensor order)
    {
        Settle();
        return RawLoop(task, features, labels, order, int.MaxValue);
    }

    /// <summary>The median of the per-round ratios, with their lower and upper quartiles.</summary>
    private static string Spread(List<double> ratios)
    {
        var sorted = ratios.Order().ToArray();
        return $"{F(sorted[sorted.Length / 2])} (quartiles {F(sorted[sorted.Length / 4])}–{F(sorted[3 * sorted.Length / 4])})";
    }

    /// <summary>Collects garbage between timed runs, so one side's garbage is not collected on the other side's clock.</summary>
    private static void Settle()
    {
        GC.Collect();
        GC.WaitForPendingFinalizers();
        GC.Collect();
    }

    /// <summary>
    /// The hand-written loop: per step a dispose scope, <c>index_select</c> of the batch rows, forward, cross entropy,
    /// backward, <c>clip_grad_norm_</c>, Adam step. Returns the seconds (model set-up included) and the training thread's
    /// managed bytes per step after the set-up steps.
    /// </summary>
    private static (double Seconds, double BytesPerStep) RawLoop(DataPathTask task, Tensor features, Tensor labels, Tensor order, int maximumSteps)
    {
        var watch = Stopwatch.StartNew();
        using var raw = new DataPathTask.RawTraining(task);
        var steps = Math.Min(task.BatchesPerEpoch, maximumSteps);
        long first = 0, last = 0;
        for (var step = 0; step < steps; step++)
        {
            if (step == SetUpSteps) first = GC.GetAllocatedBytesForCurrentThread();
            if (step == steps - 1) last = GC.GetAllocatedBytesForCurrentThread();
            raw.Step(features, labels, order, step, []);
        }

        return (watch.Elapsed.TotalSeconds, (double)(last - first) / (steps - 1 - SetUpSteps));
    }

    /// <summary>Medians of seconds to score every row: the transformer's Transform read by a cursor; a bare forward in
    /// blocks of 256; and a cursor reading the feature column alone (what Transform reads that the bare forward does not).</summary>
    private static (double Transform, double Forward, double Read) CompareScoring(DataPathTask task, SequenceTransformer fitted, IDataView data, Tensor features, int rounds)
    {
        torch.manual_seed(1);
        using var net = task.CreateRawNet();
        net.eval();
        var (transform, forward, read) = (new List<double>(), new List<double>(), new List<double>());
        for (var round = -1; round < rounds; round++)
        {
            var watch = Stopwatch.StartNew();
            var scored = fitted.Transform(data);
            var column = scored.Schema["Score"];
            using (var cursor = scored.GetRowCursor([column]))
            {
                var getter = cursor.GetGetter<VBuffer<float>>(column);
                var score = default(VBuffer<float>);
                while (cursor.MoveNext()) getter(ref score);
            }
            var t = watch.Elapsed.TotalSeconds;

            watch.Restart();
            var featureColumn = data.Schema["Features"];
            using (var cursor = data.GetRowCursor([featureColumn]))
            {
                var getter = cursor.GetGetter<VBuffer<float>>(featureColumn);
                var row = default(VBuffer<float>);
                while (cursor.MoveNext()) getter(ref row);
            }
            var r = watch.Elapsed.TotalSeconds;

            watch.Restart();
            using (no_grad())
            {
                for (var start = 0; start < task.Rows.Count; start += 256)
                {
                    using var scope = NewDisposeScope();
                    var block = features.narrow(0, start, Math.Min(256, task.Rows.Count - start));
                    _ = nn.functional.softmax(net.call(block), -1).data<float>().ToArray();
                }
            }
            var f = watch.Elapsed.TotalSeconds;
            if (round < 0) continue;
            transform.Add(t);
            forward.Add(f);
            read.Add(r);
        }

        return (Median(transform), Median(forward), Median(read));
    }

    /// <summary>Peak RSS of one Fit and one hand-written loop, each in a child process of its own.</summary>
    private static void PeakMemory()
    {
        var fit = RunChild("fit");
        var raw = RunChild("raw");
        Console.WriteLine($"Peak RSS (VmHWM), {RssRows} synthetic rows of 28 × 28, LSTM 128, batch 128, {RssSteps} steps, a child process each; both hold the");
        Console.WriteLine("user's rows (a float[] per row) throughout; Fit reads them through IDataView, the loop copies them into one tensor; load " + LoadAverage());
        Row("peak RSS: Fit / raw loop (Fit ÷ raw; target ≤ 1.2)", $"{fit / 1024.0:F0} / {raw / 1024.0:F0} MB ({F((double)fit / raw)})");
        Console.WriteLine();
    }

    private static long RunChild(string mode)
    {
        var self = Environment.ProcessPath!;
        var start = new ProcessStartInfo(self) { RedirectStandardOutput = true, UseShellExecute = false };
        if (Path.GetFileNameWithoutExtension(self) == "dotnet") start.ArgumentList.Add(typeof(DataPathComparison).Assembly.Location);
        start.ArgumentList.Add(RssChildArgument);
        start.ArgumentList.Add(mode);
        using var child = Process.Start(start)!;
        var output = child.StandardOutput.ReadToEnd();
        child.WaitForExit();
        var line = output.Split('\n').FirstOrDefault(l => l.StartsWith("VmHWM ", StringComparison.Ordinal))
            ?? throw new InvalidOperationException($"The {mode} child (exit code {child.ExitCode}) printed no VmHWM line: {output}");
        return long.Parse(line["VmHWM ".Length..].Trim(), CultureInfo.InvariantCulture);
    }

    /// <summary>The child: trains <see cref="RssSteps"/> steps one way and prints its peak RSS in kB.</summary>
    public static void RssChild(string mode)
    {
        torch.set_num_threads(1);
        var task = DataPathTask.Lstm128(RssRows);
        if (mode == "fit")
        {
            var mlContext = new MLContext(seed: 0);
            var stop = new StepProbe { StopAfter = RssSteps };
            using var fitted = mlContext.MulticlassClassification.Trainers.ClipTrainer(task.Options(stop)).Fit(task.DataView(mlContext));
        }
        else
        {
            var (features, labels) = task.Tensors();
            using var order = tensor(task.FirstEpochOrder());
            RawLoop(task, features, labels, order, RssSteps);
            features.Dispose();
            labels.Dispose();
        }

        GC.KeepAlive(task.Rows);
        var status = File.ReadAllLines("/proc/self/status").First(l => l.StartsWith("VmHWM:", StringComparison.Ordinal));
        Console.WriteLine("VmHWM " + status["VmHWM:".Length..].Replace("kB", "", StringComparison.Ordinal).Trim());
    }

    /// <summary>
    /// Times the training loop (training start to end) and counts the training thread's managed bytes from the start of
    /// step <see cref="SetUpSteps"/> + 1 to the start of the last step (batch creation included); optionally asks for a stop.
    /// </summary>
    private sealed class StepProbe : TrainingCallback
    {
        private readonly Stopwatch _watch = new();
        private long _first;
        private long _firstStep;

        public int? StopAfter { get; init; }

        public double LoopSeconds { get; private set; }

        public double BytesPerStep { get; private set; }

        /// <summary>The steps of the last fit.</summary>
        public int Steps { get; private set; }

        public override void OnTrainingStart(TrainingState state)
        {
            Steps = 0;
            _watch.Restart();
        }

        public override void OnBatchStart(TrainingState state, SequenceBatch batch)
        {
            if (state.StepInEpoch == SetUpSteps + 1)
            {
                _first = GC.GetAllocatedBytesForCurrentThread();
                _firstStep = state.StepInEpoch;
            }
            else if (state.StepInEpoch == state.TotalSteps) // one epoch per fit
            {
                BytesPerStep = (double)(GC.GetAllocatedBytesForCurrentThread() - _first) / (state.StepInEpoch - _firstStep);
            }
        }

        public override void OnAfterOptimizerStep(TrainingState state, Clipping.GradientClipReport report)
        {
            Steps++;
            if (state.GlobalStep >= StopAfter) state.RequestStop("benchmark step count reached");
        }

        public override void OnTrainingEnd(TrainingState state, TrainingHistory history) => LoopSeconds = _watch.Elapsed.TotalSeconds;
    }

    private static void Row(string what, string value) => Console.WriteLine($"  {what,-88} {value}");

    private static string F(double ratio) => ratio.ToString("F2", CultureInfo.InvariantCulture);

    private static double Median(List<double> values) => values.Order().ElementAt(values.Count / 2);

    private static string LoadAverage() =>
        File.Exists("/proc/loadavg") ? string.Join(' ', File.ReadAllText("/proc/loadavg").Split(' ').Take(3)) : "n/a";
}
