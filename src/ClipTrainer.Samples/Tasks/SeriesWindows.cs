namespace ClipTrainer.Samples.Tasks;

/// <summary>
/// Sliding windows over one series for next-value forecasting, and the time split of those windows. Kept in the samples,
/// not the library: a window spans several input rows, and ML.NET's transformers map one row to one row (its
/// time-series windowing base is internal), so the windows are made from the series before it becomes a data view.
/// </summary>
internal static class SeriesWindows
{
    /// <summary>One window: the <c>Length</c> values before <see cref="Target"/>, and the value at <see cref="Target"/>.</summary>
    /// <param name="Target">The index of the value to predict; the inputs are the indices <c>Target − Length … Target − 1</c>.</param>
    /// <param name="Inputs">The values before the target, oldest first.</param>
    /// <param name="Label">The value at <see cref="Target"/>.</param>
    public sealed record Window(int Target, float[] Inputs, float Label)
    {
        /// <summary>The first index the window reads.</summary>
        public int FirstIndex => Target - Inputs.Length;
    }

    /// <summary>Every window of <paramref name="length"/> inputs followed by its target, in time order.</summary>
    /// <param name="series">The series, oldest value first.</param>
    /// <param name="length">The number of inputs per window.</param>
    /// <returns><c>series.Count − length</c> windows, the first predicting index <paramref name="length"/>.</returns>
    /// <exception cref="ArgumentOutOfRangeException">The length is below 1 or leaves no window.</exception>
    public static IReadOnlyList<Window> Create(IReadOnlyList<float> series, int length)
    {
        ArgumentNullException.ThrowIfNull(series);
        if (length < 1 || length >= series.Count)
            throw new ArgumentOutOfRangeException(nameof(length), length,
                $"The window length must be at least 1 and below the series length {series.Count}, got {length}. Fix: use a shorter window.");
        var windows = new Window[series.Count - length];
        for (int target = length; target < series.Count; target++)
        {
            var inputs = new float[length];
            for (int i = 0; i < length; i++) inputs[i] = series[target - length + i];
            windows[target - length] = new Window(target, inputs, series[target]);
        }
        return windows;
    }

    /// <summary>
    /// Splits windows at a point in time: training windows read and predict only indices before
    /// <paramref name="firstTestIndex"/>; test windows predict indices from it on (their inputs may reach back before it,
    /// as a real forecast's do). Nothing is shuffled.
    /// </summary>
    /// <param name="windows">Windows in time order.</param>
    /// <param name="firstTestIndex">The first series index that belongs to the future.</param>
    /// <returns>The training and the test windows, each in time order.</returns>
    public static (IReadOnlyList<Window> Train, IReadOnlyList<Window> Test) SplitByTime(IReadOnlyList<Window> windows, int firstTestIndex) =>
        ([.. windows.Where(w => w.Target < firstTestIndex)], [.. windows.Where(w => w.Target >= firstTestIndex)]);
}
