using System.Diagnostics;
using System.Globalization;
using ClipTrainer.Clipping;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace ClipTrainer.Samples;

/// <summary>
/// The seed's §7 example, once per clipping mode: a SimpleRNN (input 10, hidden 20, 5 classes) trained with Adam
/// (lr 0.01) on random sequences (batch 32, length 20), gradients clipped at 0.5, printing the loss and the pre-clip
/// gradient norm every 10 steps, then a summary table. Every mode starts from the same weights and sees the same
/// batches, so the rows differ only by the clipping rule.
/// </summary>
/// <remarks>
/// Arguments: <c>--epochs N</c> (default 2; the seed uses 10) and <c>--batches N</c> (batches per epoch, default 100).
/// Output (abridged; the seconds depend on the machine and its load):
/// <code>
/// === GlobalNorm (threshold 0.5) ===
/// Epoch [1/2], Step [10/100], Loss: 1.6756, pre-clip norm: 0.4980
/// Epoch [1/2], Step [20/100], Loss: 1.6330, pre-clip norm: 0.5001 (clipped)
/// ...
/// mode              final loss  mean norm   max norm  clipped  seconds
/// None                  1.6192     0.4227     0.7342       0%      1.4
/// GlobalNorm            1.6194     0.4248     0.7336      14%      1.0
/// LocalNorm             1.6192     0.4230     0.7341       2%      0.8
/// Value                 1.6192     0.4227     0.7342       0%      0.4
/// GlobalThenLocal       1.6194     0.4248     0.7336      14%      0.4
/// </code>
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

    public static void Run(string[] args)
    {
        var epochs = IntArgument(args, "--epochs", 2);
        var batches = IntArgument(args, "--batches", 100);
        Console.WriteLine($"SimpleRNN({InputSize}, {HiddenSize}, {OutputSize}), Adam {LearningRate}, batch {BatchSize}, " +
            $"sequence {SequenceLength}, {epochs} epoch(s) x {batches} batches, threshold {ClipThreshold}.");

        var rows = new List<string>();
        foreach (var mode in Enum.GetValues<ClippingMode>())
        {
            rows.Add(Train(mode, epochs, batches));
        }

        Console.WriteLine();
        Console.WriteLine("mode              final loss  mean norm   max norm  clipped  seconds");
        rows.ForEach(Console.WriteLine);
    }

    private static string Train(ClippingMode mode, int epochs, int batches)
    {
        var options = new GradientClippingOptions
        {
            Mode = mode,
            Threshold = ClipThreshold,
            LocalThreshold = ClipThreshold,
            LocalScope = LocalNormScope.Layer,
        };
        Console.WriteLine();
        Console.WriteLine($"=== {mode} (threshold {ClipThreshold}{(mode == ClippingMode.GlobalThenLocal ? $", then {ClipThreshold} per layer" : "")}) ===");

        torch.random.manual_seed(Seed);
        using var model = new SimpleRnn(InputSize, HiddenSize, OutputSize);
        using var data = new Generator(Seed);
        using var optimizer = optim.Adam(model.parameters(), LearningRate);
        using var criterion = nn.CrossEntropyLoss();
        var clipper = GradientClipper.Create(options);
        var parameters = model.named_parameters().ToArray();

        var norms = new List<double>();
        var clipped = 0;
        var recentLosses = new Queue<double>();
        var watch = Stopwatch.StartNew();
        for (var epoch = 0; epoch < epochs; epoch++)
        {
            for (var i = 0; i < batches; i++)
            {
                using var scope = NewDisposeScope();
                var inputs = randn([BatchSize, SequenceLength, InputSize], generator: data);
                var labels = randint(0, OutputSize, [BatchSize], generator: data);

                var loss = criterion.call(model.call(inputs), labels);
                optimizer.zero_grad();
                loss.backward();
                using var report = clipper.Clip(parameters);
                optimizer.step();

                var lossValue = loss.item<float>();
                norms.Add(report.TotalNorm);
                clipped += report.WasClipped ? 1 : 0;
                recentLosses.Enqueue(lossValue);
                if (recentLosses.Count > batches)
                {
                    recentLosses.Dequeue();
                }

                if ((i + 1) % 10 == 0)
                {
                    Console.WriteLine(
                        $"Epoch [{epoch + 1}/{epochs}], Step [{i + 1}/{batches}], Loss: {lossValue:F4}, " +
                        $"pre-clip norm: {report.TotalNorm:F4}{LocalDetail(report)}{(report.WasClipped ? " (clipped)" : "")}");
                }
            }
        }

        return string.Create(CultureInfo.InvariantCulture,
            $"{mode,-16} {recentLosses.Average(),11:F4} {norms.Average(),10:F4} {norms.Max(),10:F4} {100.0 * clipped / norms.Count,7:F0}% {watch.Elapsed.TotalSeconds,8:F1}");
    }

    private static string LocalDetail(GradientClipReport report)
    {
        // The seed's clip_grad_norm_local returns every group's pre-clip norm; show the largest one.
        var local = report.Stages.LastOrDefault(s => s.RuleName == "LocalNorm");
        if (local is null)
        {
            return "";
        }

        var norms = local.GroupNorms;
        var largest = Array.IndexOf(norms, norms.Max());
        return $", largest layer norm: {norms[largest]:F4} ({local.GroupNames[largest]})";
    }

    private static int IntArgument(string[] args, string name, int fallback)
    {
        var at = Array.IndexOf(args, name);
        if (at < 0)
        {
            return fallback;
        }

        if (at + 1 >= args.Length || !int.TryParse(args[at + 1], CultureInfo.InvariantCulture, out var value) || value < 1)
        {
            throw new ArgumentException($"{name} needs a positive whole number, e.g. {name} {fallback}.");
        }

        return value;
    }

    /// <summary>The seed's model: one tanh RNN layer, then a linear head on the last time step.</summary>
    private sealed class SimpleRnn : nn.Module<Tensor, Tensor>
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

        public override Tensor forward(Tensor input)
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
