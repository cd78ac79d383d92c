using System.Diagnostics;
using System.Globalization;
using ClipTrainer.Clipping;
using ClipTrainer.Data;
using ClipTrainer.Modeling;
using ClipTrainer.Mpi;
using ClipTrainer.Training;
using TorchSharp;
using static TorchSharp.torch;

namespace ClipTrainer.Samples;

/// <summary>
/// Data-parallel training over MPI (MPICH): every rank takes its share of each global batch, the gradients are
/// averaged across ranks after <c>backward()</c>, and every rank clips and steps identically; rank 0 alone prints and
/// writes files. Runs an LSTM classifier on synthetic sequences (the label is the feature with the largest sum) once
/// per clipping mode.
/// </summary>
/// <remarks>
/// <para>Run: <c>mpiexec -n 2 dotnet src/ClipTrainer.Samples/bin/Release/net10.0/ClipTrainer.Samples.dll distributed</c>
/// (after <c>dotnet build -c Release</c>); without <c>mpiexec</c> it is one rank. MPICH must be installed
/// (<c>apt-get install -y mpich</c>); the command checks and says so.</para>
/// <para>Arguments: <c>--epochs N</c> (2), <c>--batches N</c> per epoch (20), <c>--batch-size N</c> global rows per
/// batch (25), <c>--length N</c> time steps (12), <c>--inputs N</c> features per step (4), <c>--hidden N</c> (32),
/// <c>--layers N</c> (1), <c>--threads N</c> libtorch threads per rank (1), <c>--mode K</c> only the K-th mode of
/// None, GlobalNorm, LocalNorm, Value, GlobalThenLocal (all), <c>--fail-at-step N</c> (the last rank throws at that
/// step: shows that every rank then ends), <c>--out DIR</c> (rank 0 writes <c>DIR/MODE/weights.bin</c>, the float32
/// weights in <c>named_parameters()</c> order, and the history files).</para>
/// Output (2 ranks, 1 thread each; seconds depend on the machine and its load):
/// <code>
/// distributed: 2 rank(s) x 1 thread(s), LSTM 1x32, global batch 25 (12-13 rows per rank), 2 epoch(s) x 20 batches
/// mode              final loss  clipped  seconds   rows/s  all-reduce    wait
/// None                  1.0953       0%      1.2      241       0.6 %    34.0 %
/// ...
/// timing: rows/s=670.5 allreduce=0.0060 wait=0.3400
/// </code>
/// The last line (the last mode's second-to-last epoch onwards) is what <c>distributed-scaling</c> reads.
/// </remarks>
internal static class DistributedSample
{
    public const string Name = "distributed";

    private const string BatchSize = "--batch-size";
    private const string Length = "--length";
    private const string Inputs = "--inputs";
    private const string Hidden = "--hidden";
    private const string Layers = "--layers";
    private const string Threads = "--threads";
    private const string Mode = "--mode";
    private const string FailAtStep = "--fail-at-step";
    private const int Classes = 3;
    private const int Seed = 11;

    private static readonly ClippingMode[] Modes =
        [ClippingMode.None, ClippingMode.GlobalNorm, ClippingMode.LocalNorm, ClippingMode.Value, ClippingMode.GlobalThenLocal];

    public static void Run(string[] args)
    {
        var arguments = SampleArguments.Parse(Name, args, SampleArguments.Epochs, SampleArguments.Batches, BatchSize, Length, Inputs,
            Hidden, Layers, Threads, Mode, FailAtStep);
        if (arguments.Number(Mode, 1) > Modes.Length)
            throw new SampleArgumentException($"{Name}: {Mode} must be 1 to {Modes.Length} ({string.Join(", ", Modes)}), got {arguments.Number(Mode, 1)}.");
        if (!MpiWorld.IsMpichInstalled)
        {
            Console.Error.WriteLine($"{Name}: MPICH is not installed ({MpiWorld.MpichLibrary} not found). Install it with `{MpiWorld.InstallCommand}` " +
                "(as root, Debian 12/Ubuntu), then run: mpiexec -n 2 dotnet ClipTrainer.Samples.dll distributed");
            Environment.ExitCode = 3;
            return;
        }

        var mpiArguments = Array.Empty<string>();
        MpiWorld world;
        try
        {
            world = MpiWorld.Initialize(ref mpiArguments);
        }
        catch (InvalidOperationException exception)
        {
            // A launcher of another MPI (Open MPI's mpirun): the message says which launcher to use.
            Console.Error.WriteLine($"{Name}: {exception.Message}");
            Environment.ExitCode = 3;
            return;
        }

        using var owned = world;
        try
        {
            Train(world, arguments);
        }
        catch (Exception exception)
        {
            // Outside training too (a bad argument on one rank): end every rank rather than leave them waiting.
            Console.Error.WriteLine($"Rank {world.Rank} of {world.Size}: {exception.GetType().Name}: {exception.Message}");
            world.Abort(1);
        }
    }

    private static void Train(MpiWorld world, SampleArguments arguments)
    {
        var shape = new DataShape(arguments.Number(BatchSize, 25), arguments.Number(Length, 12), arguments.Number(Inputs, 4),
            arguments.Number(SampleArguments.Batches, 20));
        var epochs = arguments.Number(SampleArguments.Epochs, 2);
        ClippingMode[] modes = arguments.Number(Mode, 0) is int k and > 0 ? [Modes[k - 1]] : Modes;
        var model = new SequenceModelOptions
        {
            CellType = RecurrentCellType.Lstm, InputSize = shape.Inputs, HiddenSize = arguments.Number(Hidden, 32),
            NumberOfLayers = arguments.Number(Layers, 1), OutputSize = Classes,
        };
        int smallest = shape.BatchSize / world.Size, largest = (shape.BatchSize + world.Size - 1) / world.Size;
        Root(world, $"{Name}: {world.Size} rank(s) x {arguments.Number(Threads, 1)} thread(s), {model.CellType} {model.NumberOfLayers}x{model.HiddenSize}, " +
            $"global batch {shape.BatchSize} ({(smallest == largest ? $"{smallest}" : $"{smallest}-{largest}")} rows per rank), sequence {shape.Length} x {shape.Inputs}, " +
            $"{epochs} epoch(s) x {shape.Batches} batches; load {File.ReadAllText("/proc/loadavg").Trim()}");
        // all-reduce: scaling and summing the gradients; wait: the step's first all-reduce, where ranks wait for the slowest.
        Root(world, "mode              final loss  clipped  seconds   rows/s  all-reduce    wait");

        string timing = "";
        foreach (var mode in modes)
        {
            var parallel = new DataParallelCallback(world);
            var settings = new TrainingSettings
            {
                Optimizer = OptimizerKind.Adam, LearningRate = 0.01, Schedule = LearningRateSchedule.Constant,
                MaximumNumberOfEpochs = epochs, Seed = Seed, NumberOfThreads = arguments.Number(Threads, 1),
                Clipping = new GradientClippingOptions { Mode = mode, Threshold = 0.1, LocalThreshold = 0.05 },
            };
            settings.Callbacks.Add(parallel); // first: every later callback sees the averaged gradients
            var warmUp = new AfterFirstEpoch(parallel);
            settings.Callbacks.Add(warmUp);
            if (arguments.Number(FailAtStep, 0) is int failAt and > 0 && world.Rank == world.Size - 1) settings.Callbacks.Add(new FailAt(failAt));
            var folder = world.IsRoot && arguments.OutputDirectory is { } root ? Path.Combine(root, mode.ToString()) : null;
            foreach (var callback in SampleOutput.Callbacks(folder, tensorBoard: null)) settings.Callbacks.Add(callback);

            using var network = SequenceModel.Create(model, Seed);
            var watch = Stopwatch.StartNew();
            var history = SequenceTrainingLoop.Run(network, SequenceTask.MulticlassClassification, parallel.Slice(new Sequences(shape)),
                validation: null, settings);
            watch.Stop();
            if (folder is not null) WriteWeights(network, Path.Combine(folder, "weights.bin"));

            // Throughput and all-reduce shares from the later epochs (the first pays for warm-up, MPI's buffers included).
            var measured = history.Epochs.Count > 1 ? history.Epochs.Skip(1).ToArray() : history.Epochs.ToArray();
            var rowsPerSecond = measured.Length * shape.Batches * shape.BatchSize / measured.Sum(e => e.Duration.TotalSeconds);
            var measuredSeconds = measured.Sum(e => e.Duration.TotalSeconds);
            var (allReduceBefore, waitBefore) = history.Epochs.Count > 1 ? (warmUp.AllReduceTime, warmUp.WaitTime) : (TimeSpan.Zero, TimeSpan.Zero);
            var share = (parallel.AllReduceTime - allReduceBefore).TotalSeconds / measuredSeconds;
            var wait = (parallel.WaitTime - waitBefore).TotalSeconds / measuredSeconds;
            var clipped = history.Steps.Count(s => s.Clipped) / (double)history.Steps.Count;
            Root(world, string.Create(CultureInfo.InvariantCulture,
                $"{mode,-16} {history.Epochs[^1].TrainingLoss,11:F4} {100 * clipped,7:F0}% {watch.Elapsed.TotalSeconds,8:F1} {rowsPerSecond,8:F0} {100 * share,9:F1} % {100 * wait,7:F1} %"));
            timing = string.Create(CultureInfo.InvariantCulture, $"timing: rows/s={rowsPerSecond:F1} allreduce={share:F4} wait={wait:F4}");
        }

        Root(world, timing);
    }

    private static void Root(MpiWorld world, string line)
    {
        if (world.IsRoot) Console.WriteLine(line);
    }

    private static void WriteWeights(SequenceModel network, string path)
    {
        using var scope = NewDisposeScope();
        var flat = cat(network.parameters().Select(p => p.detach().reshape(-1).to(ScalarType.Float32)).ToArray());
        File.WriteAllBytes(path, flat.bytes.ToArray());
    }

    private readonly record struct DataShape(int BatchSize, int Length, int Inputs, int Batches);

    /// <summary>Synthetic batches, the same on every rank: epoch e's come from a generator seeded with e; the label is the feature with the largest sum over time.</summary>
    private sealed class Sequences(DataShape shape) : ISequenceBatchSource
    {
        public int? BatchesPerEpoch => shape.Batches;

        public IEnumerable<SequenceBatch> GetBatches(int epoch)
        {
            using var generator = new Generator((ulong)(Seed * 1000 + epoch));
            for (int i = 0; i < shape.Batches; i++)
            {
                using var scope = NewDisposeScope();
                var features = randn([shape.BatchSize, shape.Length, shape.Inputs], generator: generator);
                var labels = features.narrow(2, 0, Math.Min(Classes, shape.Inputs)).sum(1).argmax(1);
                var lengths = full([shape.BatchSize], shape.Length, ScalarType.Int64);
                features.MoveToOuterDisposeScope();
                labels.MoveToOuterDisposeScope();
                lengths.MoveToOuterDisposeScope();
                yield return new SequenceBatch(features, lengths, labels);
            }
        }
    }

    /// <summary>The all-reduce times at the end of epoch 1, so that the timed epochs exclude the warm-up.</summary>
    private sealed class AfterFirstEpoch(DataParallelCallback parallel) : TrainingCallback
    {
        public TimeSpan AllReduceTime { get; private set; }

        public TimeSpan WaitTime { get; private set; }

        public override void OnEpochEnd(TrainingState state, EpochRecord record)
        {
            if (state.Epoch != 1) return;
            AllReduceTime = parallel.AllReduceTime;
            WaitTime = parallel.WaitTime;
        }
    }

    /// <summary>Throws at a given step on this rank (the failure demonstration of <c>--fail-at-step</c>).</summary>
    private sealed class FailAt(int step) : TrainingCallback
    {
        public override void OnBatchStart(TrainingState state, SequenceBatch batch)
        {
            if (state.GlobalStep + 1 == step)
                throw new InvalidOperationException($"Simulated failure at step {step} ({FailAtStep}).");
        }
    }
}
