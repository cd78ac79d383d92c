using ClipTrainer.Data;
using ClipTrainer.Training;
using Microsoft.ML;

namespace ClipTrainer.Samples.Tasks;

/// <summary>The length and seed a task's data is made for (<c>--length T</c>; the seed of the data, not of the weights).</summary>
/// <param name="Length">The sequence length T (a task with a fixed length may ignore it).</param>
/// <param name="Seed">The seed of the generator, or of a split of real data.</param>
internal sealed record TaskDataRequest(int Length, int Seed);

/// <summary>A task's training and held-out data, as the trainer reads them (a key label for multiclass).</summary>
/// <param name="Train">The training rows.</param>
/// <param name="Test">The held-out rows (fresh sequences, or the future of a series).</param>
internal sealed record TaskData(IDataView Train, IDataView Test);

/// <summary>When a run counts as solved, judged on each epoch's record with the test data as validation set.</summary>
/// <param name="Description">The criterion in words, e.g. "test MSE ≤ 0.01".</param>
/// <param name="IsSolved">The test on an epoch's record (<see cref="EpochRecord.ValidationLoss"/>, <see cref="EpochRecord.ValidationMetric"/>).</param>
internal sealed record SolvedCriterion(string Description, Func<EpochRecord, bool> IsSolved);

/// <summary>
/// One task of the <c>compare</c> command: what it is and where it comes from, how to make its data, the options its
/// runs start from and when a run has solved it. A new task is one of these and one line in <see cref="ComparisonTasks.All"/>.
/// </summary>
/// <param name="Name">The <c>--task</c> name, e.g. "adding".</param>
/// <param name="Source">Where the task comes from (paper or data set), printed above its table.</param>
/// <param name="Task">The ML.NET task, which picks the trainer, the loss and the evaluator.</param>
/// <param name="DefaultLength">The <c>--length</c> default.</param>
/// <param name="MakeData">Makes the training and test data for a length and seed; throws a <see cref="SampleArgumentException"/>
/// saying what to install when real data is missing.</param>
/// <param name="BaseOptions">The options every configuration starts from (model, optimizer, epochs); <c>--epochs</c> overrides
/// <see cref="TrainingSettings.MaximumNumberOfEpochs"/>, the comparison sets the clipping and the seed.</param>
/// <param name="Solved">The solved criterion, or null (then only the final metrics are compared).</param>
internal sealed record ComparisonTask(
    string Name,
    string Source,
    SequenceTask Task,
    int DefaultLength,
    Func<MLContext, TaskDataRequest, TaskData> MakeData,
    Func<TaskDataRequest, SequenceTrainerOptions> BaseOptions,
    SolvedCriterion? Solved);
