using System.Diagnostics;
using ClipTrainer.Clipping;
using ClipTrainer.Data;
using ClipTrainer.Modeling;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace ClipTrainer.Training;

/// <summary>
/// The one training loop: batch → forward → loss → backward → clip → step → history, with
/// <see cref="TrainingCallback"/> hooks between the stages. The ML.NET trainer runs it, and so can any code holding a
/// TorchSharp module of the model port (features <c>[batch, time, input]</c> and lengths → outputs) and a batch
/// source, without ML.NET.
/// </summary>
public static class SequenceTrainingLoop
{
    /// <summary>
    /// Trains <paramref name="model"/> in place on <paramref name="training"/> for the task its labels serve, validating
    /// on <paramref name="validation"/> after every epoch when given, and returns the history.
    /// </summary>
    /// <param name="model">The model to train; its weights are updated (and, under early stopping, set to the best epoch's).</param>
    /// <param name="training">The training rows; at least one. Its <see cref="SequenceDataset.LabelKind"/> is the task.</param>
    /// <param name="validation">Validation rows, or null.</param>
    /// <param name="settings">Optimizer, schedule, clipping, callbacks and the rest; validated here.</param>
    /// <param name="cancellation">Stops training before the next batch.</param>
    /// <returns>The history: per epoch, per step, the kept epoch and why training ended.</returns>
    /// <exception cref="ArgumentNullException">An argument is null.</exception>
    /// <exception cref="ArgumentOutOfRangeException">A setting is out of range.</exception>
    /// <exception cref="ArgumentException">The data is empty or does not fit the model, or early stopping is on without validation data.</exception>
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
        settings.ValidateSettings();
        if (training.Count == 0)
            throw new ArgumentException("The training data has no usable rows (every label was missing?).", nameof(training));
        if (validation is { Count: 0 })
            throw new ArgumentException("The validation data has no usable rows (every label was missing?).", nameof(validation));
        CheckFits(model, training, training.LabelKind, nameof(training));
        if (validation is not null) CheckFits(model, validation, training.LabelKind, nameof(validation));
        return RunValidated(model, training, validation, settings, cancellation);
    }

    /// <summary>The dataset overload without its checks, for callers that made them already (the ML.NET trainer).</summary>
    internal static TrainingHistory RunValidated(nn.Module<Tensor, Tensor?, Tensor> model, SequenceDataset training, SequenceDataset? validation,
        TrainingSettings settings, CancellationToken cancellation = default) =>
        RunValidated(model, training.LabelKind, new SequenceBatcher(training, settings.BatchSize, settings.Shuffle, settings.Seed),
            validation is null ? null : new SequenceBatcher(validation, settings.BatchSize, shuffle: false, settings.Seed),
            settings, cancellation);

    /// <summary>
    /// Trains any module of the model port on batches from <paramref name="training"/>, validating on
    /// <paramref name="validation"/> after every epoch when given, and returns the history.
    /// </summary>
    /// <param name="model">The model: features float32 <c>[batch, time, input]</c> and lengths int64 <c>[batch]</c>, or null
    /// when every row of the batch has all <c>time</c> steps (the library's batch sources know this without reading the
    /// lengths; a batch of your own always passes its lengths) → outputs <c>[batch, k]</c>, k the number of classes for
    /// multiclass classification and 1 otherwise.</param>
    /// <param name="task">The task, which picks the loss and the validation metric.</param>
    /// <param name="training">The training batches.</param>
    /// <param name="validation">The validation batches (read with epoch 0), or null.</param>
    /// <param name="settings">Optimizer, schedule, clipping, callbacks and the rest; validated here.</param>
    /// <param name="cancellation">Stops training before the next batch.</param>
    /// <returns>The history: per epoch, per step, the kept epoch and why training ended.</returns>
    /// <exception cref="ArgumentNullException">An argument is null.</exception>
    /// <exception cref="ArgumentOutOfRangeException">A setting is out of range.</exception>
    /// <exception cref="ArgumentException">
    /// An epoch has no batch, the outputs or labels do not fit the task, a scheduled learning rate is asked of a source
    /// that does not know its length, or early stopping is on without validation data.
    /// </exception>
    /// <exception cref="InvalidOperationException">
    /// Gradients were non-finite under <see cref="NonFiniteGradientPolicy.Error"/>, or the device is not available.
    /// </exception>
    /// <exception cref="OperationCanceledException"><paramref name="cancellation"/> was cancelled.</exception>
    public static TrainingHistory Run(nn.Module<Tensor, Tensor?, Tensor> model, SequenceTask task, ISequenceBatchSource training,
        ISequenceBatchSource? validation, TrainingSettings settings, CancellationToken cancellation = default)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(training);
        ArgumentNullException.ThrowIfNull(settings);
        if (!Enum.IsDefined(task))
            throw new ArgumentOutOfRangeException(nameof(task), task, $"task must be a defined SequenceTask; got {task}.");
        settings.ValidateSettings();
        return RunValidated(model, task, training, validation, settings, cancellation);
    }

    /// <summary>Trains with settings that were validated already (options are checked once, where they enter).</summary>
    private static TrainingHistory RunValidated(nn.Module<Tensor, Tensor?, Tensor> model, SequenceTask task, ISequenceBatchSource training,
        ISequenceBatchSource? validation, TrainingSettings settings, CancellationToken cancellation)
    {
        if (settings.EarlyStoppingPatience is not null && validation is null)
            throw new ArgumentException("Early stopping needs validation data.", nameof(validation));
        if (training.BatchesPerEpoch is null && settings.Schedule != LearningRateSchedule.Constant)
            throw new ArgumentException(
                $"The training batch source does not know how many batches an epoch has, which the {settings.Schedule} schedule needs; " +
                $"set {nameof(TrainingSettings.Schedule)} = {nameof(LearningRateSchedule.Constant)}.", nameof(training));

        // One run at a time per process: dropout draws from libtorch's global generator, so concurrent runs (or models
        // built meanwhile) would interleave their draws and no longer repeat; libtorch already spreads a run over the cores.
        lock (GlobalGeneratorGate.Gate)
        {
            // Training seeds libtorch's global generator and may change its thread count: give both back afterwards.
            int threads = torch.get_num_threads();
            using var generatorState = torch.random.get_rng_state();
            try
            {
                if (ThreadCountRule.Choose(settings.NumberOfThreads, ThreadCountRule.ParameterCount(model), settings.BatchSize,
                    Environment.ProcessorCount) is int wanted) torch.set_num_threads(wanted);
                using var cancelled = CancellationTokenSource.CreateLinkedTokenSource(cancellation, settings.CancellationToken);
                return Train(model, task, training, validation, settings, cancelled.Token);
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
                $"The {name} data ({data.LabelKind}, InputSize {data.InputSize}, needing {outputs} output(s)) does not fit the model " +
                $"(InputSize {shape.InputSize}, OutputSize {shape.OutputSize}){(data.LabelKind != task ? $" or the task {task}" : "")}.", name);
    }

    private static TrainingHistory Train(nn.Module<Tensor, Tensor?, Tensor> model, SequenceTask task, ISequenceBatchSource training,
        ISequenceBatchSource? validation, TrainingSettings settings, CancellationToken cancellation)
    {
        var device = DeviceResolver.Resolve(settings.Device);
        var resumePoint = settings.Checkpoints is { } checkpoints ? TrainingCheckpoint.FindResumePoint(checkpoints) : null; // refuses before any change
        model.to(device);
        torch.manual_seed(settings.Seed); // dropout draws from the global generator: seed it so runs repeat
        var parameters = model.named_parameters().Select(p => (p.name, p.parameter)).ToList();
        using var optimizer = OptimizerFactory.Create(settings, parameters.Select(p => p.parameter).ToList());
        var clipper = GradientClipper.CreateValidated(settings.Clipping);
        clipper.RecordParameterNorms = settings.RecordGradientNorms != GradientNormDetail.None;
        using var log = new TrainingStepLog(settings.StepRecordBlockSize, device, settings.RecordGradientNorms, settings.Clipping.NormType,
            parameters.Where(p => p.parameter.requires_grad).Select(p => p.name).ToArray()); // frozen parameters have no norm to record
        using var best = new BestWeights(model);
        var callbacks = ProgressCallbacks.Append(settings);
        if (settings.Checkpoints is { } checkpointing) callbacks = [.. callbacks, new CheckpointCallback(checkpointing)];
        var state = new TrainingState(settings, task, model, parameters, optimizer, clipper, device, training.BatchesPerEpoch, log, best,
            callbacks, cancellation);
        // A resumed run continues the epoch in progress (its first StepInEpoch batches were done) or starts the next one.
        var resumedSteps = resumePoint is null ? 0 : TrainingCheckpoint.Restore(state, resumePoint);
        state.MarkFirstStep();

        try
        {
            Notify(state, c => c.OnTrainingStart(state));
            while ((resumedSteps > 0 || state.Epoch < settings.MaximumNumberOfEpochs) && !state.StopRequested)
            {
                if (resumedSteps == 0)
                {
                    state.Epoch++;
                    state.StepInEpoch = 0;
                }

                RunEpoch(state, training, validation, resumedSteps);
                resumedSteps = 0;
            }

            int bestEpoch = settings.EarlyStoppingPatience is null ? state.Epochs.Count : best.Restore(lastEpoch: state.Epochs.Count);
            foreach (var (_, parameter) in parameters) parameter.grad = null; // a fitted model needs no gradient buffers
            model.eval();
            state.HasNonFiniteWeights = HasNonFiniteWeights(parameters); // one host read per run
            if (state.HasNonFiniteWeights && settings.StopOnDivergence)
                throw new InvalidOperationException(
                    "Training diverged: the model's weights hold NaN or infinite values. Lower the learning rate, clip the gradients " +
                    $"(Clipping.Mode), or keep {nameof(NonFiniteGradientPolicy.SkipStep)} from stepping on non-finite gradients.");
            var history = HistoryOf(state, bestEpoch);
            Notify(state, c => c.OnTrainingEnd(state, history));
            return history;
        }
        catch (Exception exception)
        {
            // Sinks get every step that was recorded, so a failed run's files show what led to the failure.
            try { state.DeliverSteps(log.Flush()); }
            catch (Exception inner) { exception.Data["StepRecords"] = inner.Message; }
            foreach (var callback in state.Callbacks)
            {
                try { callback.OnException(state, exception); }
                catch (Exception inner) { exception.Data[$"{callback.GetType().Name}.OnException"] = inner.Message; } // the first error is the one to see
            }
            throw;
        }
        finally
        {
            state.Contiguous?.Dispose();
        }
    }

    /// <summary>Runs one epoch; <paramref name="doneSteps"/> batches of it were run before a resume and are passed over.</summary>
    private static void RunEpoch(TrainingState state, ISequenceBatchSource training, ISequenceBatchSource? validation, int doneSteps)
    {
        var settings = state.Settings;
        var watch = Stopwatch.StartNew();
        state.Model.train();
        Notify(state, c => c.OnEpochStart(state));
        int firstRecord = state.Steps.Count - doneSteps; // a checkpoint holds every record up to its step
        int position = 0;

        // The batch source gives the same batches for the same epoch, so passing over the done ones repeats the epoch's order.
        foreach (var batch in training.GetBatches(state.Epoch))
        {
            if (position++ < doneSteps)
            {
                batch.Dispose();
                continue;
            }

            if (state.StopRequested)
            {
                batch.Dispose();
                break;
            }

            using var owned = batch; // before the cancellation check: a cancelled run disposes the batch it was handed
            state.Cancellation.ThrowIfCancellationRequested();
            using var scope = NewDisposeScope();
            state.StepInEpoch++;
            state.InStep = true;
            RunStep(state, batch);
            state.InStep = false;
            if (state.StopRequested) break;
        }

        if (state.StepInEpoch == 0)
        {
            // A stop asked for before the epoch's first batch (in OnTrainingStart or OnEpochStart) ends training here:
            // an epoch that ran no step has no record.
            if (state.StopRequested) return;
            throw new ArgumentException($"The training batch source yielded no batch in epoch {state.Epoch}.", nameof(training));
        }

        state.DeliverSteps(state.Log.Flush());
        var steps = state.Steps.Skip(firstRecord).ToArray();
        var (validationLoss, validationMetric) = validation is null ? (null, null) : Evaluate(state, validation);
        var record = EpochSummary.Create(state.Epoch, steps, validationLoss, validationMetric, state.LearningRate, watch.Elapsed);
        state.EpochList.Add(record);

        if (settings.EarlyStoppingPatience is int patience)
        {
            if (state.Best.Offer(state.Epoch, validationLoss!.Value)) state.EpochsSinceBest = 0;
            else if (++state.EpochsSinceBest >= patience)
                state.RequestStop($"early stopping: no lower validation loss for {patience} epoch(s) after epoch {state.BestEpoch}");
        }

        Notify(state, c => c.OnEpochEnd(state, record));
    }

    private static void RunStep(TrainingState state, SequenceBatch batch)
    {
        var settings = state.Settings;
        Notify(state, batch, static (c, s, b) => c.OnBatchStart(s, b));
        state.LearningRate = settings.LearningRate * LearningRateScheduler.Factor(settings, state.GlobalStep, state.TotalSteps ?? 0);
        state.GlobalStep++;
        OptimizerFactory.SetLearningRate(state.Optimizer, state.LearningRate);

        state.Optimizer.zero_grad(); // in place: gradient views stay views
        // Views a callback dropped (Module.zero_grad() sets gradients to none) show as a clip off the buffer: zero the
        // buffer and reattach, so no view comes back stale; the clipper's own check makes this free on other steps.
        if (state.Contiguous is { } buffer && state.GlobalStep > state.FirstStep && !ReferenceEquals(state.Clipper.LastCallBuffer, buffer)) buffer.ZeroGrad();
        var output = state.Model.forward(OnDevice(batch.Features, state.Device), batch.ModelLengths);
        var labels = OnDevice(batch.Labels, state.Device);
        if (state.GlobalStep == state.FirstStep) CheckOutputs(state.Task, output, labels);
        var loss = TaskObjective.Loss(state.Task, output, labels);
        var objective = settings.L1Penalty > 0 ? loss + settings.L1Penalty * L1Norm(state.Parameters) : loss;
        objective.backward();
        if (state.GlobalStep == state.FirstStep) state.Contiguous = ContiguousAfterFirstBackward(state.Parameters);
        Notify(state, loss, static (c, s, l) => c.OnAfterBackward(s, l));

        using var report = ClipAt(state);
        Notify(state, report, static (c, s, r) => c.OnAfterClip(s, r));
        if (!report.SkipStep) state.Optimizer.step();

        state.DeliverSteps(state.Log.Record(state.Epoch, state.GlobalStep, state.StepInEpoch, state.LearningRate, loss, report));
        Notify(state, report, static (c, s, r) => c.OnAfterOptimizerStep(s, r));
        if (state.Log.IsFull) state.DeliverSteps(state.Log.Flush());
    }

    /// <summary>The tensor itself when it is on <paramref name="device"/> already (TorchSharp's <c>to</c> makes a new handle even then).</summary>
    private static Tensor OnDevice(Tensor tensor, Device device) =>
        tensor.device_type == device.type && (device.index < 0 || tensor.device_index == device.index) ? tensor : tensor.to(device);

    /// <summary>Clips; an error of the clipper (non-finite gradients under the Error policy) says where training was.</summary>
    private static GradientClipReport ClipAt(TrainingState state)
    {
        try
        {
            return state.Clipper.Clip(state.Parameters);
        }
        catch (InvalidOperationException e)
        {
            throw new InvalidOperationException($"At epoch {state.Epoch}, step {state.StepInEpoch} (step {state.GlobalStep} of the run): {e.Message}", e);
        }
    }

    /// <summary>
    /// Gradients as views into one buffer, so the clipper measures and scales them with one call each instead of one per
    /// tensor. Made after the first backward over the parameters that got a gradient: a parameter the model never uses
    /// keeps no gradient, so the optimizer leaves it alone (weight decay included), as without the buffer. Float32 and
    /// float64 only (the buffer's row norms are reduced in the gradients' type); one device.
    /// </summary>
    private static ContiguousGradients? ContiguousAfterFirstBackward(IReadOnlyList<(string Name, Parameter Parameter)> parameters)
    {
        var withGradient = parameters.Where(p => p.Parameter.requires_grad && p.Parameter.grad is not null).ToArray();
        if (withGradient.Length == 0) return null;
        var first = withGradient[0].Parameter;
        var fits = (first.dtype is ScalarType.Float32 or ScalarType.Float64) && withGradient.All(p =>
            p.Parameter.dtype == first.dtype && p.Parameter.device_type == first.device_type && p.Parameter.device_index == first.device_index);
        return fits ? new ContiguousGradients(withGradient) : null; // copies the first gradients into the buffer
    }

    /// <summary>The first batch's outputs and labels must fit the task: read once per run, so a mismatch names itself.</summary>
    private static void CheckOutputs(SequenceTask task, Tensor output, Tensor labels)
    {
        var rows = labels.shape[0];
        var width = output.dim() == 2 && output.shape[0] == rows ? output.shape[1] : -1;
        var multiclass = task == SequenceTask.MulticlassClassification;
        if (width < 1 || (!multiclass && width != 1))
            throw new ArgumentException(
                $"The model's output has shape [{string.Join(", ", output.shape)}] for a batch of {rows} rows; {task} needs [{rows}, " +
                $"{(multiclass ? "number of classes" : "1")}].", "model");
        if (multiclass != (labels.dtype == ScalarType.Int64))
            throw new ArgumentException(
                $"The batch labels are {labels.dtype}; {task} needs {(multiclass ? "Int64 class indices" : "Float32 targets")}.", "training");
        if (multiclass)
        {
            using var scope = NewDisposeScope();
            var (smallest, largest) = (labels.min().item<long>(), labels.max().item<long>());
            if (smallest < 0 || largest >= width)
                throw new ArgumentException(
                    $"The batch holds class indices in [{smallest}, {largest}], but the model has {width} outputs (classes 0..{width - 1}).", "training");
        }
    }

    internal static TrainingHistory HistoryOf(TrainingState state, int bestEpoch) =>
        new(state.Epochs.ToArray(), bestEpoch, TaskObjective.MetricName(state.Task),
            stoppedEarly: state.Epochs.Count < state.Settings.MaximumNumberOfEpochs,
            state.Steps.ToArray(), state.Log.StageNames, state.Log.GroupNames, state.StopReason)
        {
            HasNonFiniteWeights = state.HasNonFiniteWeights,
        };

    private static bool HasNonFiniteWeights(IReadOnlyList<(string Name, Parameter Parameter)> parameters)
    {
        if (parameters.Count == 0) return false;
        using var scope = NewDisposeScope();
        using var noGrad = no_grad();
        return !stack(parameters.Select(p => p.Parameter.isfinite().all()).ToArray()).all().item<bool>();
    }

    private static void Notify(TrainingState state, Action<TrainingCallback> hook)
    {
        foreach (var callback in state.Callbacks) hook(callback);
    }

    /// <summary>The per-step form: a static hook and an indexed loop allocate nothing (a closure and a boxed enumerator per
    /// hook and step would be most of the loop's own managed garbage).</summary>
    private static void Notify<T>(TrainingState state, T argument, Action<TrainingCallback, TrainingState, T> hook)
    {
        var callbacks = state.Callbacks;
        for (var i = 0; i < callbacks.Count; i++) hook(callbacks[i], state, argument);
    }

    /// <summary>Mean loss and metric on <paramref name="data"/>, in evaluation mode without gradients.</summary>
    private static (double?, double?) Evaluate(TrainingState state, ISequenceBatchSource data)
    {
        var task = state.Task;
        state.Model.eval();
        using var noGrad = no_grad();
        double lossSum = 0;
        var predictions = new List<float>();
        var labels = new List<float>();
        foreach (var batch in data.GetBatches(epoch: 0))
        {
            using var scope = NewDisposeScope();
            using var owned = batch;
            var output = state.Model.forward(OnDevice(batch.Features, state.Device), batch.ModelLengths);
            var target = OnDevice(batch.Labels, state.Device);
            lossSum += TaskObjective.Loss(task, output, target).item<float>() * batch.Count;
            predictions.AddRange(TaskObjective.Predictions(task, output).cpu().data<float>().ToArray());
            labels.AddRange(target.to(ScalarType.Float32).cpu().data<float>().ToArray());
        }
        state.Model.train();
        if (labels.Count == 0) throw new ArgumentException("The validation batch source yielded no batch.", "validation");
        return (lossSum / labels.Count, TaskObjective.Metric(task, predictions, labels));
    }

    private static Tensor L1Norm(IReadOnlyList<(string Name, Parameter Parameter)> parameters) =>
        stack(parameters.Select(p => p.Parameter.abs().sum()).ToArray()).sum();
}
