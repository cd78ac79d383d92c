using System.Globalization;
using ClipTrainer.Samples.Tasks;
using Microsoft.ML;

namespace ClipTrainer.Samples;

/// <summary>
/// Row-sequential Fashion-MNIST (<see cref="FashionRowsTask"/>): a GRU reads each image as 28 rows of 28 pixels and
/// names one of 10 kinds of clothing; the task's recipe trains clipped and then unclipped on the same 60,000 images and
/// both are scored with ML.NET's multiclass evaluator on the 10,000 test images. It needs Debian's
/// <c>dataset-fashion-mnist</c> package; without it the sample says how to install it and exits with code 3. Not part
/// of the main job's "all" run: the two runs take minutes.
/// </summary>
/// <remarks>
/// Arguments: <c>--epochs N</c> (default the recipe's), <c>--train-rows N</c> (a seeded subset of the training images,
/// for a quick look), <c>--verbose</c> (a line per epoch), <c>--out DIR</c> (each run's history, TensorBoard files and
/// chart in <c>DIR/clipped/</c> and <c>DIR/unclipped/</c>).
/// </remarks>
public static class FashionRowsSample
{
    /// <summary>The scenario's name on the command line.</summary>
    public const string Name = FashionRowsTask.Name;

    /// <summary>The option that limits the training images.</summary>
    public const string TrainRows = "--train-rows";

    /// <summary>Runs the sample.</summary>
    /// <param name="args">The arguments after the sample's name.</param>
    /// <returns>What was trained, the held-out result and where the outputs went.</returns>
    /// <exception cref="SampleDataMissingException">The Fashion-MNIST files are not installed.</exception>
    public static SampleResult Run(string[] args)
    {
        var arguments = SampleArguments.Parse(Name, args, SampleArguments.Epochs, TrainRows);
        var task = new FashionRowsTask();
        var mlContext = new MLContext(seed: 0);
        int? trainRows = arguments.Number(TrainRows, 0) is var rows and > 0 ? rows : null;
        var (train, test) = task.LoadData(mlContext, trainRows);
        var recipe = task.CreateOptions();
        string model = $"{recipe.CellType.ToString().ToUpperInvariant()} {recipe.HiddenSize}";
        SampleConsole.Line(task.Source);
        SampleConsole.Line(string.Create(CultureInfo.InvariantCulture,
            $"{train.GetRowCount()} training and {test.GetRowCount()} test images, 28 steps of 28 standardized pixels. Recipe: {model}, {recipe.Pooling} pooling, " +
            $"dropout {recipe.Dropout}, {recipe.Optimizer} {recipe.LearningRate} (weight decay {recipe.WeightDecay}), {recipe.Schedule} (warm-up {recipe.WarmupFraction}, " +
            $"final ratio {recipe.FinalLearningRateRatio}), batch {recipe.BatchSize}, {arguments.Number(SampleArguments.Epochs, recipe.MaximumNumberOfEpochs)} epochs, " +
            $"{recipe.NumberOfThreads} libtorch thread(s). Load {Load()}."));

        string header = $"{"run",-26} {"MicroAccuracy",13} {"MacroAccuracy",13} {"LogLoss",8} {"clipped",8} {"minutes",8} {"CPU min",8}";
        var accuracies = new List<double>();
        // Each run is scored as soon as it has trained: the two take minutes each.
        void Report(RecipeRuns.Run run)
        {
            foreach (var epoch in run.History.Epochs)
                SampleConsole.Verbose(arguments, $"  {run.Label} epoch {epoch.Epoch,2}: training loss {epoch.TrainingLoss:F4}, clipped {epoch.ClippedFraction:P0}, {epoch.Duration.TotalSeconds:F0} s");
            var metrics = FashionRowsTask.Evaluate(mlContext, run.Model, test);
            accuracies.Add(metrics.MicroAccuracy);
            SampleConsole.Line($"Test, {test.GetRowCount()} images ({task.GoodCriterion}); load {Load()}:");
            SampleConsole.Line(header);
            SampleConsole.Line(string.Create(CultureInfo.InvariantCulture,
                $"{$"{model}, {RecipeRuns.Describe(run.Options.Clipping)}",-26} {metrics.MicroAccuracy,13:F4} {metrics.MacroAccuracy,13:F4} {metrics.LogLoss,8:F4} " +
                $"{run.ClippedFraction,8:P0} {run.WallTime.TotalMinutes,8:F1} {run.CpuTime.TotalMinutes,8:F1}{(task.IsGood(metrics.MicroAccuracy) ? "  good" : "")}"));
        }

        var runs = RecipeRuns.TrainBoth(Name, model, task.CreateOptions,
            options => mlContext.MulticlassClassification.Trainers.ClipTrainer(options).Fit(train), arguments, Report);

        return new SampleResult(
            $"{model}, {recipe.Pooling} pooling, {RecipeRuns.Describe(recipe.Clipping)} vs unclipped, {runs[0].History.Epochs.Count} epochs",
            string.Create(CultureInfo.InvariantCulture, $"MicroAccuracy {accuracies[0]:F4} / unclipped {accuracies[1]:F4}"),
            arguments.OutputDirectory);
    }

    private static string Load() => File.Exists("/proc/loadavg") ? string.Join(" ", File.ReadAllText("/proc/loadavg").Split(' ')[..3]) : "unknown";
}
