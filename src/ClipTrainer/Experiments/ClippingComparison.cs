using ClipTrainer.Data;
using ClipTrainer.Training;
using Microsoft.ML;

namespace ClipTrainer.Experiments;

/// <summary>
/// The clipping comparison experiment: trains every <see cref="ClippingConfiguration"/> on every seed through the
/// ClipTrainer estimator, evaluates each fitted model on held-out data with ML.NET's evaluator of the task, and
/// summarises the runs in a <see cref="ClippingComparisonResult"/>.
/// </summary>
/// <remarks>
/// <para>Per run: the task's metric (<see cref="ClippingComparisonResult.MetricName"/>), the last epoch's training
/// loss, divergence (<see cref="TrainingHistory.Diverged"/>, or the exception that ended it), skipped steps, the raw
/// gradient's L2 norm (mean, maximum), the fraction of steps clipped, the cosine between the clipped and the raw
/// gradient (<see cref="ClippingDirectionCallback"/>, the "direction consistency" of a rule), seconds per epoch, and
/// with <see cref="ClippingComparisonOptions.SolvedWhen"/> the steps to solve.</para>
/// <para>Seeds run in the outer loop and configurations in the inner one, so the machine's load drifts over all
/// configurations alike and their seconds per epoch stay comparable.</para>
/// </remarks>
public static class ClippingComparison
{
    /// <summary>Runs the comparison.</summary>
    /// <param name="mlContext">The ML.NET context whose evaluators score the test data.</param>
    /// <param name="trainingData">The training data, as the trainer reads it (a key label for multiclass, Boolean for binary, Single for regression).</param>
    /// <param name="testData">Held-out data with the same columns; never trained on.</param>
    /// <param name="task">The task, which picks the trainer, its loss and the evaluator.</param>
    /// <param name="baseOptions">Everything but the clipping: model, optimizer, epochs, columns. Each run copies it and sets
    /// <c>Clipping</c> to the configuration's and <c>Seed</c> to <c>baseOptions.Seed + i</c>; with a solved criterion its
    /// <c>ValidationSet</c> becomes <paramref name="testData"/>.</param>
    /// <param name="configurations">The configurations, at least one, with distinct names.</param>
    /// <param name="options">Seeds, solved criterion, progress; null for the defaults.</param>
    /// <returns>The rows (one per configuration) and every run.</returns>
    /// <exception cref="ArgumentNullException">An argument is null, or <paramref name="configurations"/> holds null.</exception>
    /// <exception cref="ArgumentException"><paramref name="configurations"/> is empty or two share a name.</exception>
    /// <exception cref="ArgumentOutOfRangeException">An option is out of range, or a column is missing or of the wrong type.</exception>
    /// <exception cref="OperationCanceledException">The base options' cancellation token was cancelled.</exception>
    /// <exception cref="InvalidOperationException">The base options' device is not available.</exception>
    public static ClippingComparisonResult Run(MLContext mlContext, IDataView trainingData, IDataView testData, SequenceTask task,
        SequenceTrainerOptions baseOptions, IReadOnlyList<ClippingConfiguration> configurations, ClippingComparisonOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(mlContext);
        ArgumentNullException.ThrowIfNull(trainingData);
        ArgumentNullException.ThrowIfNull(testData);
        ArgumentNullException.ThrowIfNull(baseOptions);
        ArgumentNullException.ThrowIfNull(configurations);
        if (configurations.Any(c => c is null)) throw new ArgumentNullException(nameof(configurations), "The configurations cannot hold null.");
        if (configurations.Count == 0)
            throw new ArgumentException("No clipping configuration is given: pass at least one, e.g. ClippingComparison.DefaultConfigurations(...).", nameof(configurations));
        var duplicate = configurations.GroupBy(c => c.Name, StringComparer.Ordinal).FirstOrDefault(g => g.Count() > 1);
        if (duplicate is not null)
            throw new ArgumentException($"Two configurations are named '{duplicate.Key}': give each a distinct name, since the tables are keyed by it.", nameof(configurations));
        options ??= new ClippingComparisonOptions();
        options.Validate();
        new SequenceTrainer(task, baseOptions); // checks the base options before the first run
        DeviceResolver.Resolve(baseOptions.Device); // so an InvalidOperationException during a run can only be its divergence

        var runs = new List<ClippingComparisonRun>();
        int total = configurations.Count * options.NumberOfSeeds;
        for (int seed = 0; seed < options.NumberOfSeeds; seed++)
        {
            foreach (var configuration in configurations)
            {
                var run = ComparisonRunner.Train(mlContext, trainingData, testData, task, baseOptions, configuration, baseOptions.Seed + seed, options);
                runs.Add(run);
                options.Progress?.Report(new ClippingComparisonProgress(runs.Count, total, run));
            }
        }

        var rows = configurations.Select(c => new ClippingComparisonRow(c.Name,
            runs.Where(r => r.ConfigurationName == c.Name).ToArray(), options.SolvedWhen is not null)).ToArray();
        return new ClippingComparisonResult(task, options.SolvedWhen is null ? null : options.SolvedDescription, rows, runs);
    }

    /// <summary>
    /// The default configurations: one per <see cref="Clipping.ClippingMode"/> value except <c>Custom</c>, with local
    /// norm both per parameter and per layer, global norm also with p = 1 and p = ∞, and each fixed threshold the
    /// 10th percentile, over a warm-up of unclipped steps, of the quantity that rule bounds.
    /// </summary>
    /// <param name="trainingData">The training data (the warm-up trains on it).</param>
    /// <param name="task">The task.</param>
    /// <param name="baseOptions">The base options of the comparison; the warm-up runs them without clipping (same
    /// model, seed, optimizer, schedule), and every configuration keeps their <c>NonFinitePolicy</c>.</param>
    /// <param name="warmupSteps">How many unclipped steps the warm-up measures. Range: &gt; 0. Default: 50.</param>
    /// <returns>The configurations, in <see cref="Clipping.ClippingMode"/> order.</returns>
    /// <remarks>
    /// Thresholds (each the 10th percentile of the warm-up, AutoClip's choice (Seetharaman et al. 2020): a median would be
    /// set by the explosion when the unclipped warm-up explodes, while the 10th percentile still reads the steps before it;
    /// each rule would have clipped about 90 % of the warm-up's steps or groups):
    /// <c>GlobalNorm</c> the global p-norm (p = 2, 1, ∞: p = 1 weighs every element, ∞ only the largest, so they
    /// differ in how one exploding tensor triggers the clip; the direction is kept in all three); <c>LocalNorm</c> the
    /// L2 norm of a parameter tensor (per parameter) or of a layer's parameters (per layer); <c>Value</c> the largest
    /// |gᵢ| (the L∞ norm); <c>GlobalThenLocal</c> the global L2 and then the per-parameter percentile. A mode without a
    /// threshold rule here (one added later, such as an adaptive rule) runs with its default options; <c>None</c> is
    /// the baseline. The warm-up's gradients are not clipped, so an exploding start shows in its norms as it would
    /// in an unclipped run; non-finite steps are skipped and left out.
    /// </remarks>
    /// <exception cref="ArgumentNullException">An argument is null.</exception>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="warmupSteps"/> is not positive, or a base option or column is invalid.</exception>
    public static IReadOnlyList<ClippingConfiguration> DefaultConfigurations(IDataView trainingData, SequenceTask task,
        SequenceTrainerOptions baseOptions, int warmupSteps = ThresholdWarmup.DefaultSteps)
    {
        ArgumentNullException.ThrowIfNull(trainingData);
        ArgumentNullException.ThrowIfNull(baseOptions);
        if (!(warmupSteps > 0))
            throw new ArgumentOutOfRangeException(nameof(warmupSteps), warmupSteps, $"{nameof(warmupSteps)} must be > 0; got {warmupSteps}. Use e.g. 50.");
        var norms = ThresholdWarmup.Measure(trainingData, task, baseOptions, warmupSteps);
        return WarmupThresholds.Configurations(norms, baseOptions.Clipping.NonFinitePolicy);
    }
}
