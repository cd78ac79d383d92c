using System.Diagnostics;
using ClipTrainer.Clipping;
using ClipTrainer.Data;
using ClipTrainer.Training;
using Microsoft.ML;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace ClipTrainer.Benchmarks;

/// <summary>
/// Where a training step's time goes, Fit against the hand-written loop of <see cref="DataPathComparison"/> on its two
/// tasks: one Fit step, then one hand-written step, alternating (paired, so both see the same machine state); per stage
/// the median and the mean over every step of every round (µs). Fit's stages are read from callback timestamps.
/// </summary>
internal static class StepProfile
{
    private static readonly string[] Stages =
        ["batch (+ previous scope's disposal, hooks)", "zero_grad + forward + loss + backward", "clip", "optimizer step (+ step record)"];

    public static void Run(double scale)
    {
        Profile(DataPathTask.SeedRnn(3200), Math.Max(3, (int)(7 * scale)));
        Profile(DataPathTask.Lstm2x128(2048), Math.Max(3, (int)(3 * scale)));
    }

    private static void Profile(DataPathTask task, int rounds)
    {
        var mlContext = new MLContext(seed: 0);
        var data = task.DataView(mlContext);
        var (features, labels) = task.Tensors();
        using var _ = features;
        using var __ = labels;
        using var order = tensor(task.FirstEpochOrder());
        var fit = Enumerable.Range(0, Stages.Length + 1).Select(_ => new List<double>()).ToArray();
        var raw = Enumerable.Range(0, Stages.Length + 1).Select(_ => new List<double>()).ToArray();
        for (var round = -1; round < rounds; round++)
        {
            using var stepper = new RawStepper(task, features, labels, order);
            var probe = new StageProbe(stepper);
            GC.Collect();
            using (mlContext.MulticlassClassification.Trainers.ClipTrainer(task.Options(probe)).Fit(data)) { }
            if (round < 0) continue; // JIT and first-touch warm-up
            for (var s = 0; s <= Stages.Length; s++)
            {
                fit[s].AddRange(probe.Stages[s]);
                raw[s].AddRange(stepper.Stages[s]);
            }
        }

        Console.WriteLine($"Step profile: one Fit step, then one hand-written step, alternating; {task.Title}; {rounds} rounds × " +
            $"{task.BatchesPerEpoch - 1} steps; µs; load {LoadAverage()}");
        Console.WriteLine($"  {"stage",-44} {"Fit",8} {"raw",8} {"Δ",6} {"mean Fit",9} {"mean raw",9} {"Δ mean",7}");
        for (var s = 0; s <= Stages.Length; s++)
        {
            var (f, r) = (fit[s], raw[s]);
            var name = s < Stages.Length ? Stages[s] : "whole step";
            Console.WriteLine($"  {name,-44} {Median(f),8:F0} {Median(r),8:F0} {Median(f) - Median(r),6:F0} {f.Average(),9:F0} {r.Average(),9:F0} {f.Average() - r.Average(),7:F0}");
        }
        Console.WriteLine();
    }

    private static double Micro(long from, long to) => (to - from) * 1e6 / Stopwatch.Frequency;

    /// <summary>The hand-written loop one step at a time (<see cref="DataPathTask.RawTraining"/>), with its stage times.</summary>
    private sealed class RawStepper(DataPathTask task, Tensor features, Tensor labels, Tensor order) : IDisposable
    {
        private readonly DataPathTask.RawTraining _raw = new(task);
        private int _step;
        private double _lastDisposal;

        /// <summary>Per stage, then the whole step.</summary>
        public List<double>[] Stages { get; } = Enumerable.Range(0, 5).Select(_ => new List<double>()).ToArray();

        /// <summary>One step; its batch stage counts the previous step's scope disposal, as Fit's does.</summary>
        public void Step()
        {
            if (_step >= task.BatchesPerEpoch) return;
            Span<long> marks = stackalloc long[4];
            var begin = Stopwatch.GetTimestamp();
            _raw.Step(features, labels, order, _step, marks);
            if (_step > 0)
            {
                Stages[0].Add(Micro(begin, marks[0]) + _lastDisposal);
                Stages[1].Add(Micro(marks[0], marks[1]));
                Stages[2].Add(Micro(marks[1], marks[2]));
                Stages[3].Add(Micro(marks[2], marks[3]));
                Stages[4].Add(Micro(begin, marks[3]) + _lastDisposal);
            }
            _lastDisposal = Micro(marks[3], Stopwatch.GetTimestamp());
            _step++;
        }

        public void Dispose() => _raw.Dispose();
    }

    /// <summary>Timestamps Fit's stages and runs one hand-written step after each Fit step, outside Fit's timed stages.</summary>
    private sealed class StageProbe(RawStepper raw) : TrainingCallback
    {
        private long _lastEnd, _batchStart, _afterBackward, _afterClip;

        public List<double>[] Stages { get; } = Enumerable.Range(0, 5).Select(_ => new List<double>()).ToArray();

        public override void OnBatchStart(TrainingState state, SequenceBatch batch) => _batchStart = Stopwatch.GetTimestamp();

        public override void OnAfterBackward(TrainingState state, Tensor loss) => _afterBackward = Stopwatch.GetTimestamp();

        public override void OnAfterClip(TrainingState state, GradientClipReport report) => _afterClip = Stopwatch.GetTimestamp();

        public override void OnAfterOptimizerStep(TrainingState state, GradientClipReport report)
        {
            var end = Stopwatch.GetTimestamp();
            if (state.GlobalStep > 1)
            {
                Stages[0].Add(Micro(_lastEnd, _batchStart));
                Stages[1].Add(Micro(_batchStart, _afterBackward));
                Stages[2].Add(Micro(_afterBackward, _afterClip));
                Stages[3].Add(Micro(_afterClip, end));
                Stages[4].Add(Micro(_lastEnd, end));
            }
            raw.Step();
            _lastEnd = Stopwatch.GetTimestamp();
        }
    }

    private static double Median(List<double> values) => values.Order().ElementAt(values.Count / 2);

    private static string LoadAverage() =>
        File.Exists("/proc/loadavg") ? string.Join(' ', File.ReadAllText("/proc/loadavg").Split(' ').Take(3)) : "n/a";
}
