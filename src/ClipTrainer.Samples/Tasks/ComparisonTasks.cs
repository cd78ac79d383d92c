using ClipTrainer;
using ClipTrainer.Training;

namespace ClipTrainer.Samples.Tasks;

/// <summary>The tasks of the <c>compare</c> command, by <c>--task</c> name.</summary>
internal static class ComparisonTasks
{
    /// <summary>Every task, in the order the command lists them.</summary>
    public static readonly IReadOnlyList<ComparisonTask> All =
    [
        AddingProblemTask.Task,
        TemporalOrderTask.Task,
        ExplodingRegimeTask.Task,
        FashionRows(),
        Forecast(),
    ];

    /// <summary>Fashion-MNIST rows for the comparison: a seeded 10,000-row training subset and 2,000 test rows, so one run takes minutes (the full recipe is the fashion-rows sample).</summary>
    private static ComparisonTask FashionRows()
    {
        var task = new FashionRowsTask();
        return new ComparisonTask(
            FashionRowsTask.Name,
            task.Source + "; compare trains on a seeded 10,000-row subset and tests on 2,000 rows",
            task.Task,
            DefaultLength: FashionRowsTask.Side, // fixed: 28 rows of 28 pixels
            MakeData: (mlContext, request) =>
            {
                var (train, test) = task.LoadData(mlContext, trainRows: 10_000, testRows: 2_000, seed: request.Seed);
                return new TaskData(train, test);
            },
            BaseOptions: _ => ShortFashionRecipe(task.CreateOptions()),
            Solved: null);
    }

    /// <summary>
    /// The comparison's own short recipe for Fashion-MNIST rows: the sample's model at 2 epochs of batch 128 under the
    /// one-cycle schedule at its defaults and AdamW 3e-3 — the recipe the README's compare table was measured with.
    /// </summary>
    private static SequenceTrainerOptions ShortFashionRecipe(SequenceTrainerOptions options)
    {
        // Not the sample's cosine decay to 1 %: over 2 epochs it would end the runs at a rate where they should still be learning.
        options.Schedule = TrainingDefaults.Schedule;
        options.WarmupFraction = TrainingDefaults.WarmupFraction;
        options.FinalLearningRateRatio = TrainingDefaults.FinalLearningRateRatio;
        options.LearningRate = 3e-3;
        options.BatchSize = 128;
        return WithEpochs(options, 2);
    }

    /// <summary>The co2 forecast for the comparison: the sample's recipe at 20 epochs; the metric is R² of the scaled monthly change on the 120 future months.</summary>
    private static ComparisonTask Forecast()
    {
        var task = new ForecastTask();
        return new ComparisonTask(
            ForecastTask.Name,
            task.Source + "; compare scores R² of the scaled monthly change on the last 120 months",
            task.Task,
            DefaultLength: ForecastTask.WindowLength, // fixed: 24 months of changes
            MakeData: (mlContext, _) =>
            {
                var (train, test) = task.LoadData(mlContext); // a time split: nothing is sampled, the seed only moves the weights
                return new TaskData(train, test);
            },
            BaseOptions: _ => WithEpochs(task.CreateOptions(), 20),
            Solved: null);
    }

    private static SequenceTrainerOptions WithEpochs(SequenceTrainerOptions options, int epochs)
    {
        options.MaximumNumberOfEpochs = epochs; // --epochs overrides it
        return options;
    }

    /// <summary>The task named <paramref name="name"/> (case-insensitive).</summary>
    /// <exception cref="SampleArgumentException">No task has that name; the message lists them.</exception>
    public static ComparisonTask Named(string name) =>
        All.FirstOrDefault(t => string.Equals(t.Name, name, StringComparison.OrdinalIgnoreCase))
        ?? throw new SampleArgumentException($"compare: unknown task '{name}'. Fix: --task {string.Join("|", All.Select(t => t.Name))}.");
}
