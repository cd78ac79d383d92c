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
    ];

    /// <summary>The task named <paramref name="name"/> (case-insensitive).</summary>
    /// <exception cref="SampleArgumentException">No task has that name; the message lists them.</exception>
    public static ComparisonTask Named(string name) =>
        All.FirstOrDefault(t => string.Equals(t.Name, name, StringComparison.OrdinalIgnoreCase))
        ?? throw new SampleArgumentException($"compare: unknown task '{name}'. Fix: --task {string.Join("|", All.Select(t => t.Name))}.");
}
