using System.Globalization;
using ClipTrainer.Clipping;
using ClipTrainer.Data;
using ClipTrainer.Experiments;
using Microsoft.ML;
using Xunit;

namespace ClipTrainer.Tests.Experiments;

/// <summary>The comparison on a small configuration: 2 configurations × 2 seeds, 40 training rows, 2 epochs of 4 steps.</summary>
[Collection(TorchSharpTrainingCollection.Name)]
public class ClippingComparisonTests
{
    private static readonly MLContext Context = new(seed: 0);
    private static readonly IDataView Train = SequenceTestData.Load(Context, SequenceTestData.Regression(40, seed: 5));
    private static readonly IDataView Test = SequenceTestData.Load(Context, SequenceTestData.Regression(20, seed: 6));

    private static SequenceTrainerOptions BaseOptions(int epochs = 2)
    {
        var options = SequenceTestData.SmallOptions(epochs);
        options.HiddenSize = 8;
        options.BatchSize = 10;
        options.NumberOfThreads = 1;
        options.Seed = 11;
        return options;
    }

    private static readonly ClippingConfiguration[] TwoConfigurations =
    [
        new("global", new GradientClippingOptions { Mode = ClippingMode.GlobalNorm, Threshold = 0.05 }),
        new("value", new GradientClippingOptions { Mode = ClippingMode.Value, Threshold = 0.001 }),
    ];

    private static ClippingComparisonResult Compare(ClippingComparisonOptions? options = null, int epochs = 2) =>
        ClippingComparison.Run(Context, Train, Test, SequenceTask.Regression, BaseOptions(epochs), TwoConfigurations,
            options ?? new ClippingComparisonOptions { NumberOfSeeds = 2 });

    [Fact]
    public void Run_TrainsEveryConfigurationOnEverySeed_AndMeasuresWhatClippingDid()
    {
        var reports = new List<ClippingComparisonProgress>();
        var result = Compare(new ClippingComparisonOptions { NumberOfSeeds = 2, Progress = new Inline(reports.Add) });

        Assert.Equal(["global", "value", "global", "value"], result.Runs.Select(r => r.ConfigurationName));
        Assert.Equal([11, 11, 12, 12], result.Runs.Select(r => r.Seed));
        Assert.Equal([1, 2, 3, 4], reports.Select(r => r.CompletedRuns));
        Assert.All(reports, r => Assert.Equal(4, r.TotalRuns));
        Assert.All(result.Runs, r => Assert.Equal(8, r.Steps)); // 40 rows / batch 10 × 2 epochs
        var global = result.Runs.Where(r => r.ConfigurationName == "global").ToArray();
        var value = result.Runs.Where(r => r.ConfigurationName == "value").ToArray();
        // Norm clipping rescales: the direction is kept. Clamping at 0.001, far below the gradients' elements, is not.
        Assert.All(global, r => Assert.Equal(1, r.MeanCosine, 1e-5));
        Assert.All(value, r => Assert.True(r.MeanCosine < 0.99, $"value clipping cosine {r.MeanCosine}"));
        Assert.All(result.Runs, r => Assert.Equal(1, r.ClippedFraction)); // both thresholds lie far below every step's gradient
        Assert.All(result.Runs, r => Assert.False(r.Diverged));
        Assert.Equal("RSquared", result.MetricName);
        Assert.Equal("MeanSquaredError", result.SecondaryMetricName);
    }

    [Fact]
    public void Run_MetricIsMlNetsEvaluationOfTheSameFitOnTheTestData()
    {
        var result = Compare();

        // The same options trained directly through the catalog and evaluated by hand give the run's numbers.
        var options = BaseOptions();
        options.Clipping = TwoConfigurations[1].Clipping.Clone();
        options.Seed = 12;
        using var model = Context.Regression.Trainers.ClipTrainer(options).Fit(Train);
        var metrics = Context.Regression.Evaluate(model.Transform(Test));
        var run = result.Runs.Single(r => r.ConfigurationName == "value" && r.Seed == 12);
        Assert.Equal(metrics.RSquared, run.Metric, 12);
        Assert.Equal(metrics.MeanSquaredError, run.SecondaryMetric, 12);
        Assert.Equal(model.History.Epochs[^1].TrainingLoss, run.FinalTrainingLoss, 12);
    }

    [Fact]
    public void Rows_HoldMeanSdAndTheTIntervalOfTheRuns()
    {
        var result = Compare();

        foreach (var row in result.Rows)
        {
            var metrics = result.Runs.Where(r => r.ConfigurationName == row.ConfigurationName).Select(r => r.Metric).ToArray();
            double mean = (metrics[0] + metrics[1]) / 2;
            double sd = Math.Abs(metrics[0] - metrics[1]) / Math.Sqrt(2); // s of two values
            double half = 12.7062 * sd / Math.Sqrt(2); // t(0.975, 1) = 12.7062
            Assert.Equal(2, row.MetricCount);
            Assert.Equal(mean, row.MetricMean, 12);
            Assert.Equal(sd, row.MetricStandardDeviation, 12);
            Assert.Equal(mean - half, row.MetricIntervalLow, 9);
            Assert.Equal(mean + half, row.MetricIntervalHigh, 9);
        }

        Assert.True(double.IsNaN(result.Rows[0].MedianStepsToSolve)); // no criterion
    }

    [Fact]
    public void Run_WithASolvedCriterion_CountsStepsToSolveAndStopsThere()
    {
        var result = Compare(new ClippingComparisonOptions
        {
            NumberOfSeeds = 2,
            SolvedWhen = e => e.Epoch >= 2 && e.ValidationLoss is not null,
            SolvedDescription = "epoch 2 reached",
        }, epochs: 3);

        Assert.All(result.Runs, r => Assert.Equal(8, r.StepsToSolve)); // 4 steps per epoch, solved at the end of epoch 2
        Assert.All(result.Runs, r => Assert.Equal(2, r.History!.Epochs.Count)); // of 3
        Assert.All(result.Rows, r => Assert.Equal(8, r.MedianStepsToSolve));
        Assert.All(result.Rows, r => Assert.Equal(2, r.SolvedRuns));
        Assert.Contains("| solved | median steps to solve |", result.ToMarkdown());
    }

    [Fact]
    public void Rows_MedianStepsToSolve_IsInfinite_WhenNoRunSolves()
    {
        var result = Compare(new ClippingComparisonOptions { NumberOfSeeds = 1, SolvedWhen = _ => false, SolvedDescription = "never", StopWhenSolved = false });

        Assert.All(result.Rows, r => Assert.True(double.IsPositiveInfinity(r.MedianStepsToSolve)));
        Assert.Contains("| 0/1 | ∞ |", result.ToMarkdown());
    }

    [Fact]
    public void ToMarkdownAndToCsv_RenderEveryRowWithItsNumbers()
    {
        var result = Compare();
        var markdown = result.ToMarkdown().TrimEnd().Split('\n');
        var csv = result.ToCsv().TrimEnd().Split('\n').Select(l => l.TrimEnd('\r').Split(',')).ToArray();
        var runsCsv = result.ToRunsCsv().TrimEnd().Split('\n');

        Assert.Equal(4, markdown.Length); // header, separator, 2 rows
        Assert.StartsWith("| configuration | RSquared mean ± sd | 95 % CI |", markdown[0]);
        var global = result.Rows[0];
        Assert.StartsWith(string.Create(CultureInfo.InvariantCulture,
            $"| global | {global.MetricMean:F4} ± {global.MetricStandardDeviation:F4} | [{global.MetricIntervalLow:F4}, {global.MetricIntervalHigh:F4}] |"), markdown[2]);
        Assert.Equal(3, csv.Length);
        Assert.All(csv, line => Assert.Equal(csv[0].Length, line.Length));
        Assert.Equal("global", csv[1][0]);
        Assert.Equal(global.MetricMean, double.Parse(csv[1][Array.IndexOf(csv[0], "RSquared_mean")], CultureInfo.InvariantCulture));
        Assert.Equal(global.MeanCosine, double.Parse(csv[1][Array.IndexOf(csv[0], "mean_cosine")], CultureInfo.InvariantCulture));
        Assert.Equal(5, runsCsv.Length);
    }

    [Fact]
    public void Run_RejectsDuplicateNamesAndNoConfigurations()
    {
        var duplicate = new ClippingConfiguration("global", new GradientClippingOptions());
        var e = Assert.Throws<ArgumentException>(() => ClippingComparison.Run(Context, Train, Test, SequenceTask.Regression, BaseOptions(), [TwoConfigurations[0], duplicate]));
        Assert.Contains("'global'", e.Message);
        Assert.Throws<ArgumentException>(() => ClippingComparison.Run(Context, Train, Test, SequenceTask.Regression, BaseOptions(), []));
        var seeds = Assert.Throws<ArgumentOutOfRangeException>(() => new ClippingComparisonOptions { NumberOfSeeds = 0 }.Validate());
        Assert.Equal("NumberOfSeeds", seeds.ParamName);
    }

    [Fact]
    public void DefaultConfigurations_OnePerMode_ThresholdsAreTheWarmupPercentiles()
    {
        var options = BaseOptions();
        var configurations = ClippingComparison.DefaultConfigurations(Train, SequenceTask.Regression, options, warmupSteps: 6);

        var modes = Enum.GetValues<ClippingMode>().Where(m => m != ClippingMode.Custom).ToArray();
        Assert.Equal(modes, configurations.Select(c => c.Clipping.Mode).Distinct());
        Assert.Equal(3, configurations.Count(c => c.Clipping.Mode == ClippingMode.GlobalNorm)); // p = 2, 1, ∞
        Assert.Equal([LocalNormScope.Parameter, LocalNormScope.Layer],
            configurations.Where(c => c.Clipping.Mode == ClippingMode.LocalNorm).Select(c => c.Clipping.LocalScope));

        // The global L2 threshold is the 10th percentile of the first 6 unclipped steps' norms, measured here on a run of
        // its own: NumPy's linear interpolation at position 0.1 · (6 − 1) = 0.5, halfway between the two smallest.
        var unclipped = BaseOptions();
        unclipped.Clipping = new GradientClippingOptions { Mode = ClippingMode.None };
        using var model = Context.Regression.Trainers.ClipTrainer(unclipped).Fit(Train);
        var norms = model.History.Steps.Take(6).Select(s => s.PreClipNorm).Order().ToArray();
        var global = configurations.First(c => c.Clipping.Mode == ClippingMode.GlobalNorm && c.Clipping.NormType == 2);
        Assert.Equal((norms[0] + norms[1]) / 2, global.Clipping.Threshold, 9);
    }

    private sealed class Inline(Action<ClippingComparisonProgress> report) : IProgress<ClippingComparisonProgress>
    {
        public void Report(ClippingComparisonProgress value) => report(value);
    }
}
