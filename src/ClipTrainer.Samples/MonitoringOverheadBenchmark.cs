using System.Diagnostics;
using System.Globalization;
using System.Runtime.InteropServices;
using ClipTrainer.Clipping;
using ClipTrainer.Data;
using ClipTrainer.Modeling;
using ClipTrainer.Training;
using TorchSharp;

namespace ClipTrainer.Samples;

/// <summary>
/// Benchmark: what monitoring costs per training step on the seed-sized model (SimpleRNN input 10, hidden 20, 5
/// classes, batch 32, length 20, Adam, global-norm clipping at 0.5, one libtorch thread), through the library's loop:
/// (a) no callbacks, (b) <see cref="HistoryFilesCallback"/>, (c) <see cref="TensorBoardCallback"/>, (d) TensorBoard with
/// per-layer norms recorded (<see cref="TrainingSettings.RecordGradientNorms"/> = Layer), and for comparison (e) the
/// same per-step scalars through TorchSharp's own <c>SummaryWriter</c>. Rounds are interleaved (every configuration
/// once per round) and the median is printed, with the ratio to (a) and the machine's load.
/// </summary>
/// <remarks>
/// Arguments: <c>--rounds N</c> (default 5), <c>--epochs N</c> (default 2), <c>--batches N</c> (per epoch, default 100).
/// Time per step = the time from the first epoch's start to the end of training (every step, block flush and epoch
/// end, where the sinks write) divided by the number of steps, as wall and as the training thread's CPU time; "sink cpu"
/// is the CPU time spent inside the sink's hooks (its file's creation and closing included), "net" that less the
/// timer's own cost. Output on the shared 2-core VM (load 5–7; under heavier load the wall and step columns swing by
/// ±25 % between runs, the sink columns much less):
/// <code>
/// median per step, µs                               wall  × (a)     cpu  × (a)  sink cpu     net  net / cpu (a)
/// (a) no callbacks                                  1905  1.000    1905  1.000       0.0     0.0         0.00 %
/// (a') an empty callback (the timer's own cost)     1930  1.013    1921  1.008       6.4     0.0         0.00 %
/// (b) HistoryFilesCallback                          1984  1.042    1984  1.042      17.0    10.5         0.55 %
/// (c) TensorBoardCallback                           1953  1.025    1952  1.025      13.2     6.7         0.35 %
/// (d) TensorBoard + layer norms                     1981  1.040    1981  1.040      13.9     7.5         0.39 %
/// (e) TorchSharp SummaryWriter, step scalars        2073  1.088    2072  1.088     149.2   142.7         7.49 %
/// </code>
/// </remarks>
internal static class MonitoringOverheadBenchmark
{
    public const string Name = "monitoring-benchmark";

    private const int InputSize = 10;
    private const int HiddenSize = 20;
    private const int SequenceLength = 20;
    private const int Classes = 5;
    private const int BatchSize = 32;

    public static void Run(string[] args)
    {
        int rounds = IntArgument(args, "--rounds", 5), epochs = IntArgument(args, "--epochs", 2), batches = IntArgument(args, "--batches", 100);
        var random = new Random(42);
        var rows = Enumerable.Range(0, batches * BatchSize).Select(_ => random.NextNoise(InputSize * SequenceLength)).ToList();
        var data = SequenceDataset.CreateMulticlass(InputSize, Classes, rows, rows.Select(_ => (long)random.Next(Classes)).ToList());
        var output = Path.Combine(Path.GetTempPath(), $"cliptrainer-monitoring-{Environment.ProcessId}");

        var configurations = new (string Name, Func<int, TrainingSettings> Settings)[]
        {
            ("(a) no callbacks", _ => Settings(epochs)),
            ("(a') an empty callback (the timer's own cost)", _ => Settings(epochs, new EmptyCallback())),
            ("(b) HistoryFilesCallback", r => Settings(epochs, new HistoryFilesCallback(Path.Combine(output, $"history-{r}")))),
            ("(c) TensorBoardCallback", r => Settings(epochs, new TensorBoardCallback(Path.Combine(output, $"tb-{r}")))),
            ("(d) TensorBoard + layer norms", r => Settings(epochs, new TensorBoardCallback(Path.Combine(output, $"tb-layers-{r}")), GradientNormDetail.Layer)),
            ("(e) TorchSharp SummaryWriter, step scalars", r => Settings(epochs, new SummaryWriterSink(Path.Combine(output, $"summary-writer-{r}")))),
        };

        Console.WriteLine($"SimpleRNN({InputSize}, {HiddenSize}, {Classes}), batch {BatchSize} x {SequenceLength}, {epochs} epoch(s) x {batches} batches, " +
            $"1 libtorch thread, {rounds} interleaved rounds; load before: {LoadAverage()}");
        var samples = configurations.Select(_ => new List<Timing>()).ToArray();
        foreach (var configuration in configurations) Fit(configuration.Settings(-1), data); // warm-up: JIT, first allocations
        for (var round = 0; round < rounds; round++)
        {
            for (var c = 0; c < configurations.Length; c++)
            {
                samples[c].Add(Fit(configurations[c].Settings(round), data));
            }
        }

        // Wall time is what a user waits for, but on a loaded machine it mostly measures the other processes; the
        // training thread's CPU time (libtorch runs the ops on it with one thread) is the steadier measure. Inside the
        // sink, the clock reads themselves cost (a thread-CPU clock read is a system call, ~2 µs on a VM): row (a')
        // measures them on an empty callback and the "net" column subtracts them.
        var wall = Median(samples[0].Select(t => t.WallStep));
        var cpu = Median(samples[0].Select(t => t.CpuStep));
        var timerCost = Median(samples[1].Select(t => t.CpuSink));
        Console.WriteLine($"{"median per step, µs",-46} {"wall",7} {"× (a)",6} {"cpu",7} {"× (a)",6} {"sink cpu",9} {"net",7} {"net / cpu (a)",14}");
        for (var c = 0; c < configurations.Length; c++)
        {
            var t = samples[c];
            var (w, u, sink) = (Median(t.Select(x => x.WallStep)), Median(t.Select(x => x.CpuStep)), Median(t.Select(x => x.CpuSink)));
            var net = c == 0 ? 0 : sink - timerCost;
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"{configurations[c].Name,-46} {w,7:F0} {w / wall,6:F3} {u,7:F0} {u / cpu,6:F3} {sink,9:F1} {net,7:F1} {net / cpu,14:P2}"));
        }

        Console.WriteLine($"load after: {LoadAverage()}");
        Directory.Delete(output, recursive: true);
    }

    private static TrainingSettings Settings(int epochs, TrainingCallback? sink = null, GradientNormDetail norms = GradientNormDetail.None)
    {
        var settings = new TrainingSettings
        {
            Optimizer = OptimizerKind.Adam,
            LearningRate = 0.01,
            Schedule = LearningRateSchedule.Constant,
            MaximumNumberOfEpochs = epochs,
            BatchSize = BatchSize,
            NumberOfThreads = 1,
            RecordGradientNorms = norms,
            Clipping = new GradientClippingOptions { Mode = ClippingMode.GlobalNorm, Threshold = 0.5 },
            Seed = 42,
        };
        settings.Callbacks.Add(new StepTimer());
        if (sink is not null) settings.Callbacks.Add(new TimedCallback(sink));
        return settings;
    }

    /// <summary>Microseconds per step: wall and thread CPU time in all, and thread CPU time inside the sink's hooks.</summary>
    private readonly record struct Timing(double WallStep, double CpuStep, double CpuSink);

    /// <summary>Trains once and returns the microseconds per step.</summary>
    private static Timing Fit(TrainingSettings settings, SequenceDataset data)
    {
        using var model = SequenceModel.Create(new SequenceModelOptions
        {
            CellType = RecurrentCellType.Rnn, InputSize = InputSize, HiddenSize = HiddenSize, OutputSize = Classes,
        }, seed: 42);
        SequenceTrainingLoop.Run(model, data, null, settings);
        var timer = (StepTimer)settings.Callbacks[0];
        var sink = settings.Callbacks.Count > 1 ? (TimedCallback)settings.Callbacks[1] : null;
        return new Timing(timer.Wall / timer.Steps, timer.Cpu / timer.Steps, (sink?.Cpu ?? 0) / timer.Steps);
    }

    private static double Median(IEnumerable<double> values)
    {
        var sorted = values.Order().ToList();
        return sorted[sorted.Count / 2];
    }

    private static string LoadAverage() => File.Exists("/proc/loadavg") ? File.ReadAllText("/proc/loadavg").Trim() : "(no /proc/loadavg)";

    private static int IntArgument(string[] args, string name, int fallback)
    {
        var at = Array.IndexOf(args, name);
        return at >= 0 ? int.Parse(args[at + 1], CultureInfo.InvariantCulture) : fallback;
    }

    /// <summary>First in the callback list: starts before the first epoch's hooks and stops before the sinks close their files.</summary>
    private sealed class StepTimer : TrainingCallback
    {
        private readonly Stopwatch _watch = new();
        private double _cpuStart;

        public double Wall { get; private set; }

        public double Cpu { get; private set; }

        public long Steps { get; private set; }

        public override void OnEpochStart(TrainingState state)
        {
            if (state.Epoch != 1) return;
            _cpuStart = ThreadCpu.Microseconds();
            _watch.Restart();
        }

        public override void OnTrainingEnd(TrainingState state, TrainingHistory history)
        {
            Wall = _watch.Elapsed.TotalMicroseconds;
            Cpu = ThreadCpu.Microseconds() - _cpuStart;
            Steps = state.GlobalStep;
        }
    }

    /// <summary>Forwards every hook to a sink and adds up the thread CPU time spent in it (file creation and closing included).</summary>
    private sealed class TimedCallback(TrainingCallback sink) : TrainingCallback
    {
        public double Cpu { get; private set; }

        public override void OnTrainingStart(TrainingState state) => Timed(() => sink.OnTrainingStart(state));

        public override void OnEpochStart(TrainingState state) => Timed(() => sink.OnEpochStart(state));

        public override void OnBatchStart(TrainingState state, SequenceBatch batch) => Timed(() => sink.OnBatchStart(state, batch));

        public override void OnAfterBackward(TrainingState state, TorchSharp.torch.Tensor loss) => Timed(() => sink.OnAfterBackward(state, loss));

        public override void OnAfterClip(TrainingState state, GradientClipReport report) => Timed(() => sink.OnAfterClip(state, report));

        public override void OnAfterOptimizerStep(TrainingState state, GradientClipReport report) => Timed(() => sink.OnAfterOptimizerStep(state, report));

        public override void OnStepRecords(TrainingState state, IReadOnlyList<TrainingStepRecord> records) => Timed(() => sink.OnStepRecords(state, records));

        public override void OnEpochEnd(TrainingState state, EpochRecord record) => Timed(() => sink.OnEpochEnd(state, record));

        public override void OnTrainingEnd(TrainingState state, TrainingHistory history) => Timed(() => sink.OnTrainingEnd(state, history));

        public override void OnException(TrainingState state, Exception exception) => sink.OnException(state, exception);

        private void Timed(Action hook)
        {
            var cpu = ThreadCpu.Microseconds();
            try
            {
                hook();
            }
            finally
            {
                Cpu += ThreadCpu.Microseconds() - cpu;
            }
        }
    }

    private sealed class EmptyCallback : TrainingCallback
    {
    }

    /// <summary>(e): the step scalars of <see cref="TensorBoardCallback"/> through TorchSharp's SummaryWriter (one file open and close per value).</summary>
    private sealed class SummaryWriterSink(string directory) : TrainingCallback
    {
        private TorchSharp.Modules.SummaryWriter? _writer;

        public override void OnTrainingStart(TrainingState state) => _writer = torch.utils.tensorboard.SummaryWriter(directory);

        public override void OnStepRecords(TrainingState state, IReadOnlyList<TrainingStepRecord> records)
        {
            foreach (var r in records)
            {
                var step = (int)r.Step;
                _writer!.add_scalar("train/loss", (float)r.Loss, step);
                _writer.add_scalar("train/learning_rate", (float)r.LearningRate, step);
                _writer.add_scalar("grad_2.0_norm_total", (float)r.PreClipNorm, step);
                _writer.add_scalar("grad_2.0_norm_total_post_clip", (float)r.PostClipNorm, step);
                _writer.add_scalar("clip/clipped", r.Clipped ? 1 : 0, step);
                _writer.add_scalar("clip/skipped", r.Skipped ? 1 : 0, step);
                for (var i = 0; i < r.StageCoefficients.Count; i++) _writer.add_scalar($"clip/coefficient/{i}", (float)r.StageCoefficients[i], step);
            }
        }
    }

    /// <summary>The calling thread's CPU time (Linux <c>CLOCK_THREAD_CPUTIME_ID</c>); NaN elsewhere.</summary>
    private static class ThreadCpu
    {
        private const int ClockThreadCpuTimeId = 3;

        public static double Microseconds() =>
            OperatingSystem.IsLinux() && ClockGetTime(ClockThreadCpuTimeId, out var time) == 0 ? time.Seconds * 1e6 + time.Nanoseconds / 1e3 : double.NaN;

        // DllImport, not LibraryImport: the latter needs unsafe code enabled for the whole samples project.
        [DllImport("libc", EntryPoint = "clock_gettime")]
        private static extern int ClockGetTime(int clock, out TimeSpec time);

        [StructLayout(LayoutKind.Sequential)]
        private struct TimeSpec
        {
            public long Seconds;
            public long Nanoseconds;
        }
    }
}
