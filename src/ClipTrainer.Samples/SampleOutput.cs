using ClipTrainer.Training;

namespace ClipTrainer.Samples;

/// <summary>
/// The <c>--out DIR</c> contract of the training samples, in one place: a run writes into its folder
/// <c>history.csv</c> (one row per step), <c>epochs.csv</c>, <c>history.json</c> (through
/// <see cref="HistoryFilesCallback"/>), TensorBoard event files under <c>tensorboard/</c> (through
/// <see cref="TensorBoard"/>) and its chart, <see cref="TrainingChart.FileName"/>.
/// </summary>
internal static class SampleOutput
{
    /// <summary>The sub-folder of a run's folder that holds its TensorBoard event files.</summary>
    public const string TensorBoardFolder = "tensorboard";

    /// <summary>
    /// Gets the TensorBoard sink the samples use, given the folder of its event files: the one line that names it.
    /// </summary>
    public static Func<string, TrainingCallback>? TensorBoard => directory => new TensorBoardCallback(directory);

    /// <summary>The monitoring callbacks of a run writing into <paramref name="directory"/>; none without <c>--out</c>.</summary>
    /// <param name="directory">The run's output folder, or null.</param>
    public static IReadOnlyList<TrainingCallback> Callbacks(string? directory) => Callbacks(directory, TensorBoard);

    /// <summary>The monitoring callbacks of a run writing into <paramref name="directory"/>, with a given TensorBoard sink.</summary>
    /// <param name="directory">The run's output folder, or null (then no callbacks).</param>
    /// <param name="tensorBoard">Makes the TensorBoard sink for a folder, or null for none.</param>
    public static IReadOnlyList<TrainingCallback> Callbacks(string? directory, Func<string, TrainingCallback>? tensorBoard)
    {
        if (directory is null) return [];
        var callbacks = new List<TrainingCallback> { new HistoryFilesCallback(directory) };
        if (tensorBoard is not null) callbacks.Add(tensorBoard(Path.Combine(directory, TensorBoardFolder)));
        return callbacks;
    }

    /// <summary>Writes the run's chart into <paramref name="directory"/>; nothing without <c>--out</c>.</summary>
    /// <param name="directory">The run's output folder, or null.</param>
    /// <param name="history">The run's history.</param>
    /// <param name="title">The run, for the chart's title.</param>
    /// <param name="threshold">The norm threshold line, or null.</param>
    /// <returns>The chart's path, or null when none was written.</returns>
    public static string? WriteChart(string? directory, TrainingHistory history, string title, ChartThreshold? threshold)
    {
        if (directory is null) return null;
        var path = Path.Combine(directory, TrainingChart.FileName);
        TrainingChart.Write(history, path, title, threshold);
        ChartFonts.WarnIfMissing(path);
        return path;
    }
}
