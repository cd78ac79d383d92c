using ClipTrainer.Data;
using ClipTrainer.Training;
using Microsoft.ML;

namespace ClipTrainer.Experiments;

/// <summary>One run of a comparison: train through the estimator, evaluate with ML.NET, measure what clipping did.</summary>
internal static class ComparisonRunner
{
    public static ClippingComparisonRun Train(MLContext mlContext, IDataView trainingData, IDataView testData, SequenceTask task,
        SequenceTrainerOptions baseOptions, ClippingConfiguration configuration, int seed, ClippingComparisonOptions comparison)
    {
        var options = baseOptions.Clone();
        options.Clipping = configuration.Clipping.Clone();
        options.Seed = seed;
        var direction = new ClippingDirectionCallback();
        options.Callbacks.Add(direction);
        if (comparison.SolvedWhen is { } solved)
        {
            options.ValidationSet = testData;
            if (comparison.StopWhenSolved) options.Callbacks.Add(new StopWhenSolved(solved));
        }

        SequenceTransformer model;
        try
        {
            model = new SequenceTrainer(task, options).Fit(trainingData);
        }
        catch (InvalidOperationException e)
        {
            // Non-finite gradients under the Error policy (or StopOnDivergence): the run diverged; the comparison goes on.
            return new ClippingComparisonRun
            {
                ConfigurationName = configuration.Name, Seed = seed, Diverged = true, Failure = e.Message,
                PreClipL2Norms = direction.PreClipL2Norms.ToArray(), MeanCosine = direction.MeanCosine, MinimumCosine = direction.MinimumCosine,
            };
        }

        using (model)
        {
            var history = model.History;
            var (metric, secondary) = history.HasNonFiniteWeights ? (double.NaN, double.NaN) : Evaluate(mlContext, task, model.Transform(testData));
            var norms = direction.PreClipL2Norms.Where(double.IsFinite).ToArray();
            long steps = history.Epochs.Sum(e => (long)e.Steps);
            long? stepsToSolve = null;
            if (comparison.SolvedWhen is { } criterion)
            {
                long trained = 0;
                foreach (var epoch in history.Epochs)
                {
                    trained += epoch.Steps;
                    if (criterion(epoch))
                    {
                        stepsToSolve = trained;
                        break;
                    }
                }
            }

            return new ClippingComparisonRun
            {
                ConfigurationName = configuration.Name,
                Seed = seed,
                Metric = metric,
                SecondaryMetric = secondary,
                FinalTrainingLoss = history.Epochs.Count > 0 ? history.Epochs[^1].TrainingLoss : double.NaN,
                Diverged = history.Diverged,
                Steps = steps,
                SkippedSteps = history.Epochs.Sum(e => e.SkippedSteps),
                MeanPreClipNorm = norms.Length > 0 ? norms.Average() : double.NaN,
                MaximumPreClipNorm = norms.Length > 0 ? norms.Max() : double.NaN,
                ClippedFraction = history.Steps.Count > 0 ? history.Steps.Count(s => s.Clipped) / (double)history.Steps.Count : double.NaN,
                MeanCosine = direction.MeanCosine,
                MinimumCosine = direction.MinimumCosine,
                SecondsPerEpoch = history.Epochs.Count > 0 ? history.Epochs.Average(e => e.Duration.TotalSeconds) : double.NaN,
                StepsToSolve = stepsToSolve,
                History = history,
                PreClipL2Norms = direction.PreClipL2Norms.ToArray(),
            };
        }
    }

    /// <summary>The task's metric pair from ML.NET's evaluator (the names are <see cref="ClippingComparisonResult.MetricNames"/>).</summary>
    private static (double Metric, double Secondary) Evaluate(MLContext mlContext, SequenceTask task, IDataView scored)
    {
        switch (task)
        {
            case SequenceTask.MulticlassClassification:
                var multiclass = mlContext.MulticlassClassification.Evaluate(scored);
                return (multiclass.MicroAccuracy, multiclass.LogLoss);
            case SequenceTask.BinaryClassification:
                var binary = mlContext.BinaryClassification.Evaluate(scored);
                return (binary.AreaUnderRocCurve, binary.Accuracy);
            default:
                var regression = mlContext.Regression.Evaluate(scored);
                return (regression.RSquared, regression.MeanSquaredError);
        }
    }

    /// <summary>Ends a run at the first epoch whose record meets the criterion.</summary>
    private sealed class StopWhenSolved(Func<EpochRecord, bool> solved) : TrainingCallback
    {
        public override void OnEpochEnd(TrainingState state, EpochRecord record)
        {
            if (solved(record)) state.RequestStop($"solved at epoch {record.Epoch}");
        }
    }
}
