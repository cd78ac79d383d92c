using System.Diagnostics;
using ClipTrainer.Clipping;
using ClipTrainer.Data;
using ClipTrainer.Modeling;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace ClipTrainer.Training;

/// <summary>
/// The one training loop: batch → forward → loss → backward → clip → step → history. The ML.NET trainer runs it, and
/// so can any code holding a <see cref="SequenceModel"/> and a <see cref="SequenceDataset"/>, without ML.NET.
/// </summary>
public static class SequenceTrainingLoop
{
    /// <summary>
    /// Trains <paramref name="model"/> in place on <paramref name="training"/>, validating on
    /// <paramref name="validation"/> after every epoch when given, and returns the history.
    /// </summary>
    /// <param name="model">The model to train; its weights are updated (and, under early stopping, set to the best epoch's).</param>
    /// <param name="training">The training rows; at least one.</param>
    /// <param name="validation">Validation rows, or null.</param>
    /// <param name="settings">Optimizer, schedule, clipping and the rest; validated here.</param>
    /// <param name="cancellation">Stops training between steps.</param>
    /// <exception cref="ArgumentNullException">An argument is null.</exception>
    /// <exception cref="ArgumentOutOfRangeException">A setting is out of range.</exception>
    /// <exception cref="ArgumentException">The data is empty, or early stopping is on without validation data.</exception>
    /// <exception cref="InvalidOperationException">
    /// Gradients were non-finite under <see cref="NonFiniteGradientPolicy.Error"/>, or the device is not available.
    /// </exception>
    /// <exception cref="OperationCanceledException"><paramref name="cancellation"/> was cancelled.</exception>
    public static TrainingHistory Run(SequenceModel model, SequenceDataset training, SequenceDataset? validation,
        TrainingSettings settings, CancellationToken cancellation = default)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(training);
        ArgumentNullException.ThrowIfNull(settings);
        settings.Validate();
        if (training.Count == 0)
            throw new ArgumentException("The training data has no usable rows (every label was missing?).", nameof(training));
        if (settings.EarlyStoppingPatience is not null && validation is null)
            throw new ArgumentException("Early stopping needs validation data.", nameof(validation));
        if (validation is { Count: 0 })
            throw new ArgumentException("The validation data has no usable rows (every label was missing?).", nameof(validation));
        CheckFits(model, training, settings.Task, nameof(training));
        if (validation is not null) CheckFits(model, validation, settings.Task, nameof(validation));

        // One run at a time per process: dropout draws from libtorch's global generator, so concurrent runs (or models
        // built meanwhile) would interleave their draws and no longer repeat; libtorch already spreads a run over the cores.
        lock (GlobalGeneratorGate.Gate)
        {
            // Training seeds libtorch's global generator and may change its thread count: give both back afterwards.
            int threads = torch.get_num_threads();
            using var generatorState = torch.random.get_rng_state();
            try
            {
                if (settings.NumberOfThreads is int wanted) torch.set_num_threads(wanted);
                return Train(model, training, validation, settings, cancellation);
            }
            finally
            {
                torch.set_num_threads(threads);
                torch.random.set_rng_state(generatorState);
            }
        }
    }

    private static void CheckFits(SequenceModel model, SequenceDataset data, SequenceTask task, string name)
    {
        var shape = model.Options;
        int outputs = task == SequenceTask.MulticlassClassification ? data.NumberOfClasses : 1;
        if (data.LabelKind != task || data.InputSize != shape.InputSize || outputs != shape.OutputSize)
            throw new ArgumentException(
                $"The {name} data ({data.LabelKind}, InputSize {data.InputSize}, {outputs} output(s)) does not fit the task {task} and the model " +
                $"(InputSize {shape.InputSize}, OutputSize {shape.OutputSize}).", name);
    }

    private static TrainingHistory Train(SequenceModel model, SequenceDataset training, SequenceDataset? validation,
        TrainingSettings settings, CancellationToken cancellation)
    {
        var device = DeviceResolver.Resolve(settings.Device);
        model.to(device);
        torch.manual_seed(settings.Seed); // dropout draws from the global generator: seed it so runs repeat
        var namedParameters = model.named_parameters().Select(p => (p.name, p.parameter)).ToList();
        var parameters = namedParameters.Select(p => p.parameter).ToList();
        using var optimizer = OptimizerFactory.Create(settings, parameters);
        var clipper = GradientClipper.Create(settings.Clipping);

        var batcher = new SequenceBatcher(training, settings.BatchSize, settings.Shuffle, settings.Seed);
        int stepsPerEpoch = batcher.NumberOfBatches;
        long totalSteps = (long)stepsPerEpoch * settings.MaximumNumberOfEpochs;
        var epochs = new List<EpochRecord>();
        using var best = new BestWeights(model);
        int epochsSinceBest = 0;
        long globalStep = 0;

        for (int epoch = 1; epoch <= settings.MaximumNumberOfEpochs; epoch++)
        {
            var watch = Stopwatch.StartNew();
            model.train();
            // Running sums stay on the device and are read once per epoch. Per step, the host reads only the clipper's
            // non-finite check (its policy needs it to decide) and the batch's shortest and longest length (on the CPU).
            using var lossSum = zeros(1, dtype: ScalarType.Float64, device: device);
            using var normSum = zeros(1, dtype: ScalarType.Float64, device: device);
            using var normMax = zeros(1, dtype: ScalarType.Float64, device: device);
            using var clippedSteps = zeros(1, dtype: ScalarType.Float64, device: device);
            int step = 0, skipped = 0;
            double learningRate = settings.LearningRate;

            foreach (var batch in batcher.GetBatches(epoch))
            {
                cancellation.ThrowIfCancellationRequested();
                using var scope = NewDisposeScope();
                using var owned = batch;
                step++;
                learningRate = settings.LearningRate * LearningRateScheduler.Factor(settings, globalStep++, totalSteps);
                OptimizerFactory.SetLearningRate(optimizer, learningRate);

                optimizer.zero_grad();
                var output = model.forward(batch.Features.to(device), batch.Lengths);
                var loss = TaskObjective.Loss(settings.Task, output, batch.Labels.to(device));
                var objective = settings.L1Penalty > 0 ? loss + settings.L1Penalty * L1Norm(parameters) : loss;
                objective.backward();

                using var report = clipper.Clip(namedParameters);
                if (report.SkipStep)
                {
                    skipped++;
                    continue;
                }
                optimizer.step();

                var norm = report.TotalNormTensor.detach().to(ScalarType.Float64);
                lossSum.add_(loss.detach().to(ScalarType.Float64));
                normSum.add_(norm);
                normMax.copy_(maximum(normMax, norm));
                clippedSteps.add_(report.WasClippedTensor.to(ScalarType.Float64));
                if (settings.StepProgress is not null && step % settings.StepReportInterval == 0)
                    settings.StepProgress.Report(new TrainingStepReport(epoch, step, stepsPerEpoch, loss.item<float>(), report.TotalNorm));
            }

            int applied = step - skipped;
            var (validationLoss, validationMetric) = validation is null ? (null, null) : Evaluate(model, validation, settings, device);
            var record = new EpochRecord(
                epoch,
                applied > 0 ? lossSum.item<double>() / applied : double.NaN,
                validationLoss,
                validationMetric,
                applied > 0 ? normSum.item<double>() / applied : double.NaN,
                applied > 0 ? normMax.item<double>() : double.NaN,
                step > 0 ? clippedSteps.item<double>() / step : 0,
                skipped,
                step,
                learningRate,
                watch.Elapsed);
            epochs.Add(record);
            settings.EpochProgress?.Report(record);

            if (settings.EarlyStoppingPatience is int patience)
            {
                if (best.Offer(epoch, validationLoss!.Value)) epochsSinceBest = 0;
                else if (++epochsSinceBest >= patience) break;
            }
        }

        int bestEpoch = settings.EarlyStoppingPatience is null ? epochs.Count : best.Restore(lastEpoch: epochs.Count);
        foreach (var parameter in parameters) parameter.grad = null; // a fitted model needs no gradient buffers
        model.eval();
        return new TrainingHistory(epochs, bestEpoch, TaskObjective.MetricName(settings.Task),
            stoppedEarly: epochs.Count < settings.MaximumNumberOfEpochs);
    }

    /// <summary>Mean loss and metric on <paramref name="data"/>, in evaluation mode without gradients.</summary>
    private static (double?, double?) Evaluate(SequenceModel model, SequenceDataset data, TrainingSettings settings, Device device)
    {
        model.eval();
        using var noGrad = no_grad();
        double lossSum = 0;
        var predictions = new List<float>(data.Count);
        var labels = new List<float>(data.Count);
        foreach (var batch in new SequenceBatcher(data, settings.BatchSize, shuffle: false, settings.Seed).GetBatches(epoch: 0))
        {
            using var scope = NewDisposeScope();
            using var owned = batch;
            var output = model.forward(batch.Features.to(device), batch.Lengths);
            var target = batch.Labels.to(device);
            lossSum += TaskObjective.Loss(settings.Task, output, target).item<float>() * batch.Count;
            predictions.AddRange(TaskObjective.Predictions(settings.Task, output).cpu().data<float>().ToArray());
            labels.AddRange(target.to(ScalarType.Float32).cpu().data<float>().ToArray());
        }
        model.train();
        return (lossSum / data.Count, TaskObjective.Metric(settings.Task, predictions, labels));
    }

    private static Tensor L1Norm(IReadOnlyList<Parameter> parameters) =>
        stack(parameters.Select(p => p.abs().sum()).ToArray()).sum();
}
