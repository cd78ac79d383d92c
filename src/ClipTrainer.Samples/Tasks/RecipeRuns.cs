using System.Diagnostics;
using ClipTrainer.Clipping;
using ClipTrainer.Training;

namespace ClipTrainer.Samples.Tasks;

/// <summary>
/// Trains one task's recipe twice, clipped as the recipe says and unclipped (<see cref="ClippingMode.None"/>), with the
/// same seed, data and every other option, so the two runs differ only by the clipping; each run gets the samples'
/// progress bar and, with <c>--out DIR</c>, its history, TensorBoard files and chart under <c>DIR/clipped/</c> and
/// <c>DIR/unclipped/</c>.
/// </summary>
internal static class RecipeRuns
{
    /// <summary>One of the two runs.</summary>
    /// <param name="Label">"clipped" or "unclipped", also its output folder's name.</param>
    /// <param name="Options">The options it trained with.</param>
    /// <param name="Model">The fitted model.</param>
    /// <param name="WallTime">The time the fit took.</param>
    /// <param name="CpuTime">The CPU time the process spent during the fit, all its threads together: on a shared
    /// machine the wall time measures the other work as much as the recipe, this does not.</param>
    public sealed record Run(string Label, SequenceTrainerOptions Options, SequenceTransformer Model, TimeSpan WallTime, TimeSpan CpuTime)
    {
        /// <summary>Gets the run's training history.</summary>
        public TrainingHistory History => Model.History;

        /// <summary>Gets the fraction of the run's steps whose gradients were clipped.</summary>
        public double ClippedFraction => History.Steps.Count == 0 ? 0 : History.Steps.Count(s => s.Clipped) / (double)History.Steps.Count;
    }

    /// <summary>Trains the recipe clipped, then unclipped.</summary>
    /// <param name="sample">The sample's name, for the progress bars and chart titles.</param>
    /// <param name="model">The model in words, e.g. "GRU 128".</param>
    /// <param name="recipe">Makes the recipe's options (a new object per call).</param>
    /// <param name="fit">Fits a trainer made with the given options.</param>
    /// <param name="arguments">The sample's arguments (<c>--out</c>, <c>--epochs</c>).</param>
    /// <param name="afterRun">Called with each run as soon as it has trained (a long sample reports the clipped run
    /// before the unclipped one starts), or null.</param>
    /// <returns>The clipped run, then the unclipped one.</returns>
    public static IReadOnlyList<Run> TrainBoth(string sample, string model, Func<SequenceTrainerOptions> recipe,
        Func<SequenceTrainerOptions, SequenceTransformer> fit, SampleArguments arguments, Action<Run>? afterRun = null)
    {
        var runs = new List<Run>();
        foreach (var clipped in new[] { true, false })
        {
            var options = recipe();
            options.MaximumNumberOfEpochs = arguments.Number(SampleArguments.Epochs, options.MaximumNumberOfEpochs);
            if (!clipped) options.Clipping.Mode = ClippingMode.None;
            string label = clipped ? "clipped" : "unclipped";
            var directory = arguments.OutputDirectory is null ? null : Path.Combine(arguments.OutputDirectory, label);
            foreach (var callback in SampleOutput.Callbacks(directory)) options.Callbacks.Add(callback);
            var progress = new TrainingProgress($"{sample} ({model}, {label})");
            options.Callbacks.Add(progress);

            var cpuBefore = Process.GetCurrentProcess().TotalProcessorTime;
            var watch = Stopwatch.StartNew();
            var transformer = progress.Run(() => fit(options));
            var run = new Run(label, options, transformer, watch.Elapsed, Process.GetCurrentProcess().TotalProcessorTime - cpuBefore);
            SampleOutput.WriteChart(directory, run.History, $"{sample}, {model}, {Describe(options.Clipping)}", ChartThreshold.For(options.Clipping));
            runs.Add(run);
            afterRun?.Invoke(run);
        }
        return runs;
    }

    /// <summary>A run's clipping in words, e.g. "global L2 1" or "unclipped".</summary>
    /// <param name="clipping">The run's clipping options.</param>
    public static string Describe(GradientClippingOptions clipping) => clipping.Mode switch
    {
        ClippingMode.None => "unclipped",
        ClippingMode.GlobalNorm => $"global L{clipping.NormType} {clipping.Threshold}",
        _ => $"{clipping.Mode} {clipping.Threshold}",
    };
}
