using ClipTrainer.Data;
using ClipTrainer.Training;
using TorchSharp.Modules;
using Xunit;
using static ClipTrainer.Tests.Training.EngineTestKit;
using static TorchSharp.torch;

namespace ClipTrainer.Tests.Training;

/// <summary>The loop hands the model null lengths exactly when the batch source knows every row is full length.</summary>
[Collection(TorchSharpTrainingCollection.Name)]
public class ModelLengthsTests
{
    [Fact]
    public void Run_BatcherOverEqualLengthRows_ModelGetsNullLengthsInTrainingAndValidation()
    {
        var rows = Enumerable.Range(0, 6).Select(r => new float[] { r, r + 1, r + 2, r + 3 }).ToList(); // 2 steps of 2
        var dataset = SequenceDataset.CreateRegression(2, rows, rows.Select(r => r[0]).ToList());
        using var model = new LengthsRecorder();

        SequenceTrainingLoop.Run(model, SequenceTask.Regression, new SequenceBatcher(dataset, 4, shuffle: false, seed: 0),
            new SequenceBatcher(dataset, 4, shuffle: false, seed: 0), Settings());

        // 1 epoch: 2 training batches, then 2 validation batches; every one full length.
        Assert.Equal(new long[]?[] { null, null, null, null }, model.Seen);
    }

    [Fact]
    public void Run_BatcherOverMixedLengthRows_ModelGetsTheLengthsOfMixedBatchesOnly()
    {
        // Rows of 1, 1, 2, 2 steps in dataset order: the first batch is full length (1 step), the second (2, 2) too, and
        // a batch of 3 mixes them.
        float[][] rows = [[1, 1], [2, 2], [3, 3, 3, 3], [4, 4, 4, 4]];
        var dataset = SequenceDataset.CreateRegression(2, rows, [1f, 2f, 3f, 4f]);
        using var model = new LengthsRecorder();

        SequenceTrainingLoop.Run(model, SequenceTask.Regression, new SequenceBatcher(dataset, 2, shuffle: false, seed: 0), null, Settings());
        SequenceTrainingLoop.Run(model, SequenceTask.Regression, new SequenceBatcher(dataset, 3, shuffle: false, seed: 0), null, Settings());

        Assert.Equal(new long[]?[] { null, null, [1, 1, 2], null }, model.Seen);
    }

    [Fact]
    public void Run_BatchSourceOfYourOwn_ModelGetsItsLengths()
    {
        using var model = new LengthsRecorder();

        SequenceTrainingLoop.Run(model, SequenceTask.Regression, RandomRegression(2, batchCount: 1, batchSize: 2, time: 3, seed: 1), null, Settings());

        Assert.Equal(new long[]?[] { [3, 3] }, model.Seen);
    }

    private static TrainingSettings Settings() => new()
    {
        MaximumNumberOfEpochs = 1, Schedule = LearningRateSchedule.Constant, NumberOfThreads = 1,
    };

    /// <summary>Records the lengths of every forward (null when none were given) and returns a trainable output.</summary>
    private sealed class LengthsRecorder : nn.Module<Tensor, Tensor?, Tensor>
    {
        private readonly Linear linear;

        public LengthsRecorder() : base(nameof(LengthsRecorder))
        {
            linear = nn.Linear(2, 1);
            RegisterComponents();
        }

        public List<long[]?> Seen { get; } = [];

        public override Tensor forward(Tensor input, Tensor? lengths)
        {
            Seen.Add(lengths?.data<long>().ToArray());
            return linear.forward(input.select(1, -1));
        }
    }
}
