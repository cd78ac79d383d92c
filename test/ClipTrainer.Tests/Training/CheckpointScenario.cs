using ClipTrainer.Clipping;
using ClipTrainer.Data;
using ClipTrainer.Modeling;
using ClipTrainer.Training;
using static TorchSharp.torch;

namespace ClipTrainer.Tests.Training;

/// <summary>
/// One small run that exercises every part of a checkpoint: a 2-layer LSTM with dropout (the global random state),
/// Adam (moments and step counts), the one-cycle schedule (its position), shuffling, global-norm clipping and early
/// stopping with best weights. Shared by the tests and the child process they kill (ClipTrainer.CheckpointChild).
/// </summary>
internal static class CheckpointScenario
{
    public const int InputSize = 3;
    public const int Steps = 6;
    public const int Classes = 3;
    public const int BatchSize = 8;
    public const int Rows = 70;             // 9 batches per epoch, the last one of 6 rows
    public const int BatchesPerEpoch = 9;
    public const int Epochs = 3;

    public static SequenceModelOptions ModelOptions(int hiddenSize = 8) => new()
    {
        CellType = RecurrentCellType.Lstm, InputSize = InputSize, HiddenSize = hiddenSize, NumberOfLayers = 2, Dropout = 0.25,
        OutputSize = Classes,
    };

    /// <summary>A new model; <paramref name="seed"/> other than the run's shows that a resume loads the weights.</summary>
    public static SequenceModel NewModel(long seed = 5, int hiddenSize = 8) => SequenceModel.Create(ModelOptions(hiddenSize), seed);

    public static SequenceDataset Data(int rows, int seed)
    {
        var random = new Random(seed);
        var sequences = new List<float[]>();
        var labels = new List<long>();
        for (var r = 0; r < rows; r++)
        {
            var sequence = Enumerable.Range(0, Steps * InputSize).Select(_ => (float)(random.NextDouble() * 2 - 1)).ToArray();
            var sums = Enumerable.Range(0, InputSize).Select(f => sequence.Where((_, i) => i % InputSize == f).Sum()).ToArray();
            sequences.Add(sequence);
            labels.Add(Array.IndexOf(sums, sums.Max()));
        }

        return SequenceDataset.CreateMulticlass(InputSize, Classes, sequences, labels);
    }

    public static SequenceDataset Training => Data(Rows, seed: 11);

    public static SequenceDataset Validation => Data(24, seed: 12);

    public static TrainingSettings Settings(string? checkpointDirectory = null) => new()
    {
        Optimizer = OptimizerKind.Adam,
        LearningRate = 0.05,
        Schedule = LearningRateSchedule.OneCycle,
        MaximumNumberOfEpochs = Epochs,
        BatchSize = BatchSize,
        Shuffle = true,
        Seed = 3,
        NumberOfThreads = 1,
        EarlyStoppingPatience = 5,
        StepRecordBlockSize = 5,
        Clipping = new GradientClippingOptions { Mode = ClippingMode.GlobalNorm, Threshold = 0.5 },
        Checkpoints = checkpointDirectory is null ? null : new CheckpointOptions { Directory = checkpointDirectory, EveryEpochs = null },
    };

    /// <summary>The model's weights as flat float arrays, by name, for exact comparison.</summary>
    public static Dictionary<string, float[]> Weights(nn.Module model) =>
        model.state_dict().ToDictionary(p => p.Key, p => p.Value.cpu().data<float>().ToArray());
}
