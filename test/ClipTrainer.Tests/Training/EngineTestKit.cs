using ClipTrainer.Clipping;
using ClipTrainer.Data;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace ClipTrainer.Tests.Training;

/// <summary>A module of the model port and a batch source made by hand, for tests of the loop's ports and hooks.</summary>
internal static class EngineTestKit
{
    /// <summary>A linear map of the last time step: outputs = W·x[T−1] + b, lengths ignored.</summary>
    public sealed class LastStepLinear : nn.Module<Tensor, Tensor?, Tensor>
    {
        private readonly Linear linear;

        public LastStepLinear(int inputSize, int outputSize) : base(nameof(LastStepLinear))
        {
            linear = nn.Linear(inputSize, outputSize);
            RegisterComponents();
        }

        public void SetWeights(float[,] weight, float[] bias)
        {
            using var noGrad = no_grad();
            using var w = tensor(weight);
            using var b = tensor(bias);
            linear.weight!.copy_(w);
            linear.bias!.copy_(b);
        }

        public override Tensor forward(Tensor input, Tensor? lengths) => linear.forward(input.select(1, -1));
    }

    /// <summary>The same batches every epoch, made afresh from arrays: features [rows][time × input], float targets.</summary>
    public sealed class FixedBatches(int inputSize, IReadOnlyList<(float[][] Features, float[] Targets)> batches, bool knownLength = true)
        : ISequenceBatchSource
    {
        public int? BatchesPerEpoch => knownLength ? batches.Count : null;

        public List<int> EpochsRead { get; } = [];

        public IEnumerable<SequenceBatch> GetBatches(int epoch)
        {
            EpochsRead.Add(epoch);
            foreach (var (features, targets) in batches)
            {
                var time = features[0].Length / inputSize;
                var flat = features.SelectMany(f => f).ToArray();
                yield return new SequenceBatch(
                    tensor(flat, [features.Length, time, inputSize]),
                    full(features.Length, time, ScalarType.Int64),
                    tensor(targets));
            }
        }
    }

    /// <summary>Regression batches of random sequences whose target is the sum of the last step's features.</summary>
    public static FixedBatches RandomRegression(int inputSize, int batchCount, int batchSize, int time, int seed, bool knownLength = true)
    {
        var random = new Random(seed);
        var batches = Enumerable.Range(0, batchCount).Select(_ =>
        {
            var features = Enumerable.Range(0, batchSize)
                .Select(_ => Enumerable.Range(0, time * inputSize).Select(_ => (float)(random.NextDouble() * 2 - 1)).ToArray()).ToArray();
            return (features, features.Select(f => f.Skip((time - 1) * inputSize).Sum()).ToArray());
        }).ToList();
        return new FixedBatches(inputSize, batches, knownLength);
    }

    public static ClipTrainer.Training.TrainingSettings RegressionSettings(ClippingMode mode = ClippingMode.GlobalNorm, double threshold = 1.0) => new()
    {
        MaximumNumberOfEpochs = 2,
        LearningRate = 0.05,
        Schedule = ClipTrainer.Training.LearningRateSchedule.Constant,
        Clipping = new GradientClippingOptions { Mode = mode, Threshold = threshold, LocalThreshold = threshold },
    };
}
