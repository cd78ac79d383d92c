using System.Globalization;
using ClipTrainer.Clipping;
using ClipTrainer.Data;
using ClipTrainer.Training;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace ClipTrainer.Samples;

/// <summary>
/// The seed's §7 example, once per clipping mode, on the library's training loop without ML.NET: a SimpleRNN
/// (input 10, hidden 20, 5 classes) as a module of the loop's model port, trained with Adam (lr 0.01, constant) on
/// random sequences (batch 32, length 20) from a small batch source, gradients clipped at 0.5, then a summary table
/// from the returned histories. Every mode starts from the same weights and sees the same batches (each epoch's come
/// from a generator seeded with the epoch), so the rows differ only by the clipping rule.
/// </summary>
/// <remarks>
/// Arguments: <c>--epochs N</c> (default 2; the seed uses 10), <c>--batches N</c> (batches per epoch, default 100),
/// <c>--verbose</c> (the seed's log: loss and pre-clip norm every 10 steps), <c>--out DIR</c> (one folder per mode:
/// <c>DIR/GlobalNorm/history.csv</c>, <c>history.json</c>, <c>training.png</c>…).
/// Output (the seconds are from a 2-core machine at load 2; they depend on the machine and its load):
/// <code>
/// SimpleRNN(10, 20, 5), Adam 0.01, batch 32, sequence 20, 2 epoch(s) x 100 batches, threshold 0.5.
/// seed-simple-rnn None: 2 epoch(s), 200 steps in 21.0 s, last epoch's training loss 1.6208
/// ...
/// mode              final loss  mean norm   max norm  clipped  seconds
/// None                  1.6208     0.4180     0.6485       0%      2.2
/// GlobalNorm            1.6207     0.4176     0.6456      16%      1.2
/// LocalNorm             1.6208     0.4181     0.6475       2%      1.5
/// Value                 1.6208     0.4180     0.6485       0%      1.2
/// GlobalThenLocal       1.6207     0.4176     0.6456      16%      1.4
/// </code>
/// With <c>--verbose</c> each run also prints, every 10 steps:
/// <c>Epoch [1/2], Step [10/100], Loss: 1.6497, pre-clip norm: 0.5135, largest layer norm: 0.3665 (rnn[l0])</c> (the layer part for
/// the local modes).
/// On random labels the loss cannot fall much below ln 5 ≈ 1.609; what differs between modes is how large the
/// updates are allowed to get.
/// </remarks>
internal static class SeedSimpleRnnComparison
{
    public const string Name = "seed-simple-rnn";

    private const int InputSize = 10;
    private const int HiddenSize = 20;
    private const int OutputSize = 5;
    private const int BatchSize = 32;
    private const int SequenceLength = 20;
    private const double LearningRate = 0.01;
    private const double ClipThreshold = 0.5;
    private const int Seed = 42;

    // The built-in modes (Custom needs a rule of the user's own).
    private static readonly ClippingMode[] Modes =
        [ClippingMode.None, ClippingMode.GlobalNorm, ClippingMode.LocalNorm, ClippingMode.Value, ClippingMode.GlobalThenLocal];

    public static SampleResult Run(string[] args)
    {
        var arguments = SampleArguments.Parse(Name, args, SampleArguments.Epochs, SampleArguments.Batches);
        var epochs = arguments.Number(SampleArguments.Epochs, 2);
        var batches = arguments.Number(SampleArguments.Batches, 100);
        SampleConsole.Line($"SimpleRNN({InputSize}, {HiddenSize}, {OutputSize}), Adam {LearningRate}, batch {BatchSize}, " +
            $"sequence {SequenceLength}, {epochs} epoch(s) x {batches} batches, threshold {ClipThreshold}.");

        var source = new RandomSequences(batches);
        var rows = new List<string>();
        var finalLosses = new List<double>();
        var clippedShares = new List<double>();
        foreach (var mode in Modes)
        {
            var history = Train(mode, epochs, source, arguments);
            var norms = history.Steps.Select(s => s.PreClipNorm).ToList();
            double clipped = history.Steps.Count(s => s.Clipped) / (double)history.Steps.Count;
            finalLosses.Add(history.Epochs[^1].TrainingLoss);
            clippedShares.Add(clipped);
            rows.Add(string.Create(CultureInfo.InvariantCulture,
                $"{mode,-16} {history.Epochs[^1].TrainingLoss,11:F4} {norms.Average(),10:F4} {norms.Max(),10:F4} {100 * clipped,7:F0}% " +
                $"{history.Epochs.Sum(e => e.Duration.TotalSeconds),8:F1}"));
        }

        SampleConsole.Line();
        SampleConsole.Line("mode              final loss  mean norm   max norm  clipped  seconds");
        rows.ForEach(row => SampleConsole.Line(row));
        return new SampleResult(
            $"SimpleRNN 10→20→5, random labels, {Modes.Length} clipping modes × {epochs * batches} steps",
            string.Create(CultureInfo.InvariantCulture,
                $"none (random labels); loss {finalLosses.Min():F3}–{finalLosses.Max():F3}, {100 * clippedShares.Min():F0}–{100 * clippedShares.Max():F0} % clipped"),
            arguments.OutputDirectory);
    }

    private static TrainingHistory Train(ClippingMode mode, int epochs, RandomSequences source, SampleArguments arguments)
    {
        var settings = new TrainingSettings
        {
            Optimizer = OptimizerKind.Adam,
            LearningRate = LearningRate,
            Schedule = LearningRateSchedule.Constant, // the seed's Adam keeps its learning rate
            MaximumNumberOfEpochs = epochs,
            Seed = Seed,
            Clipping = new GradientClippingOptions
            {
                Mode = mode,
                Threshold = ClipThreshold,
                LocalThreshold = ClipThreshold,
                LocalScope = LocalNormScope.Layer,
            },
        };
        var folder = arguments.OutputDirectory is { } root ? Path.Combine(root, mode.ToString()) : null;
        foreach (var callback in SampleOutput.Callbacks(folder)) settings.Callbacks.Add(callback);
        if (arguments.IsVerbose) settings.Callbacks.Add(new SeedStepLog(epochs));
        var progress = new TrainingProgress($"{Name} {mode}");
        settings.Callbacks.Add(progress);
        SampleConsole.Verbose(arguments,
            $"=== {mode} (threshold {ClipThreshold}{(mode == ClippingMode.GlobalThenLocal ? $", then {ClipThreshold} per layer" : "")}) ===");

        torch.random.manual_seed(Seed); // the same initial weights for every mode
        using var model = new SimpleRnn(InputSize, HiddenSize, OutputSize);
        // Multiclass classification: cross-entropy, as the seed's nn.CrossEntropyLoss.
        var history = progress.Run(() => SequenceTrainingLoop.Run(model, SequenceTask.MulticlassClassification, source, validation: null, settings));
        SampleOutput.WriteChart(folder, history, $"{Name}, {mode}", ChartThreshold.For(settings.Clipping));
        return history;
    }

    /// <summary>
    /// The seed's random data as a batch source: <c>BatchesPerEpoch</c> batches of Gaussian features and uniform labels,
    /// drawn from a generator seeded with the epoch, so every run sees the same batches.
    /// </summary>
    private sealed class RandomSequences(int batchesPerEpoch) : ISequenceBatchSource
    {
        public int? BatchesPerEpoch => batchesPerEpoch;

        public IEnumerable<SequenceBatch> GetBatches(int epoch)
        {
            using var generator = new Generator((ulong)(Seed + epoch));
            for (int i = 0; i < batchesPerEpoch; i++)
            {
                var features = randn([BatchSize, SequenceLength, InputSize], generator: generator);
                var labels = randint(0, OutputSize, [BatchSize], generator: generator);
                yield return new SequenceBatch(features, full([BatchSize], SequenceLength, ScalarType.Int64), labels);
            }
        }
    }

    /// <summary>The seed's log line every 10 steps: loss and pre-clip norm, and for local norms the largest layer's.</summary>
    private sealed class SeedStepLog(int epochs) : TrainingCallback
    {
        public override void OnAfterOptimizerStep(TrainingState state, GradientClipReport report)
        {
            if (state.StepInEpoch % 10 != 0) return;
            var step = state.ReadLatestStep(); // one host read every 10 steps, as the seed's print
            SampleConsole.Line(string.Create(CultureInfo.InvariantCulture,
                $"Epoch [{step.Epoch}/{epochs}], Step [{step.StepInEpoch}/{state.StepsPerEpoch}], Loss: {step.Loss:F4}, " +
                $"pre-clip norm: {step.PreClipNorm:F4}{LocalDetail(report)}{(step.Clipped ? " (clipped)" : "")}"));
        }

        private static string LocalDetail(GradientClipReport report)
        {
            // The seed's clip_grad_norm_local returns every group's pre-clip norm; show the largest one.
            var local = report.Stages.LastOrDefault(s => s.RuleName == "LocalNorm");
            if (local is null) return "";
            var norms = local.GroupNorms;
            var largest = Array.IndexOf(norms, norms.Max());
            return string.Create(CultureInfo.InvariantCulture, $", largest layer norm: {norms[largest]:F4} ({local.GroupNames[largest]})");
        }
    }

    /// <summary>The seed's model: one tanh RNN layer, then a linear head on the last time step.</summary>
    /// <remarks>A module of the loop's model port; the lengths are ignored, since every sequence has the full length.</remarks>
    private sealed class SimpleRnn : nn.Module<Tensor, Tensor?, Tensor>
    {
        private readonly RNN rnn;
        private readonly Linear fc;

        public SimpleRnn(int inputSize, int hiddenSize, int outputSize)
            : base(nameof(SimpleRnn))
        {
            rnn = nn.RNN(inputSize, hiddenSize, batchFirst: true);
            fc = nn.Linear(hiddenSize, outputSize);
            RegisterComponents();
        }

        public override Tensor forward(Tensor input, Tensor? lengths)
        {
            using var scope = NewDisposeScope();
            var (output, _) = rnn.call(input);
            return fc.call(output[.., -1, ..]).MoveToOuterDisposeScope();
        }

        protected override void Dispose(bool disposing)
        {
            if (disposing)
            {
                rnn.Dispose();
                fc.Dispose();
            }

            base.Dispose(disposing);
        }
    }
}
