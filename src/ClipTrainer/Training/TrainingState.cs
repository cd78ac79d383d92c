using ClipTrainer.Clipping;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace ClipTrainer.Training;

/// <summary>
/// Everything a training run is made of, in one object that the loop updates and every
/// <see cref="TrainingCallback"/> hook receives: the model, optimizer and clipper (with their states), the position
/// (epoch, step, learning-rate schedule), the early-stopping bookkeeping with its best-weights snapshot, and the
/// history so far. Nothing the run depends on lives only in the loop's locals, so this is what a checkpoint will hold
/// (the best-weights snapshot and the pending step records are kept inside; their export comes with checkpointing).
/// </summary>
/// <remarks>
/// The random state is libtorch's global generator, seeded with <see cref="TrainingSettings.Seed"/> when training
/// starts (dropout draws from it); shuffling is a function of (seed, epoch) alone. The optimizer's moments live in
/// <see cref="Optimizer"/>, the clipping rule's state in <see cref="Clipper"/> (<see cref="GradientClipper.ExportState"/>),
/// and the schedule's position is <see cref="GlobalStep"/>.
/// </remarks>
public sealed class TrainingState
{
    private readonly List<EpochRecord> _epochs = [];

    internal TrainingState(TrainingSettings settings, Data.SequenceTask task, nn.Module<Tensor, Tensor?, Tensor> model,
        IReadOnlyList<(string Name, Parameter Parameter)> parameters, optim.Optimizer optimizer, GradientClipper clipper,
        Device device, int? stepsPerEpoch, TrainingStepLog log, BestWeights best, IReadOnlyList<TrainingCallback> callbacks,
        CancellationToken cancellation)
    {
        Callbacks = callbacks;
        Settings = settings;
        Task = task;
        Model = model;
        Parameters = parameters;
        Optimizer = optimizer;
        Clipper = clipper;
        Device = device;
        StepsPerEpoch = stepsPerEpoch;
        TotalSteps = stepsPerEpoch is int steps ? (long)steps * settings.MaximumNumberOfEpochs : null;
        Log = log;
        Best = best;
        Cancellation = cancellation;
    }

    /// <summary>Gets the settings of the run (do not change them while it trains).</summary>
    public TrainingSettings Settings { get; }

    /// <summary>Gets the task, which picks the loss and the validation metric.</summary>
    public Data.SequenceTask Task { get; }

    /// <summary>Gets the model being trained, on <see cref="Device"/>.</summary>
    public nn.Module<Tensor, Tensor?, Tensor> Model { get; }

    /// <summary>Gets the model's named parameters (weights; their <c>grad</c> holds the current gradients), in <c>named_parameters()</c> order.</summary>
    public IReadOnlyList<(string Name, Parameter Parameter)> Parameters { get; }

    /// <summary>Gets the optimizer, which holds its own state (moments, step counts).</summary>
    public optim.Optimizer Optimizer { get; }

    /// <summary>Gets the clipper, whose rule may keep state across steps.</summary>
    public GradientClipper Clipper { get; }

    /// <summary>Gets the device the run trains on.</summary>
    public Device Device { get; }

    /// <summary>Gets the 1-based current epoch (0 before the first).</summary>
    public int Epoch { get; internal set; }

    /// <summary>Gets the 1-based step within the current epoch (0 before its first batch).</summary>
    public int StepInEpoch { get; internal set; }

    /// <summary>Gets the number of steps begun in the whole run, skipped ones included: the schedule's position.</summary>
    public long GlobalStep { get; internal set; }

    /// <summary>Gets the number of steps per epoch, or null when the batch source does not know it.</summary>
    public int? StepsPerEpoch { get; }

    /// <summary>Gets the number of steps of a run that reaches the last epoch, or null when not known.</summary>
    public long? TotalSteps { get; }

    /// <summary>Gets the learning rate of the current step.</summary>
    public double LearningRate { get; internal set; }

    /// <summary>Gets the records of the epochs finished so far.</summary>
    public IReadOnlyList<EpochRecord> Epochs => _epochs;

    /// <summary>Gets the per-step records read to the host so far (see <see cref="TrainingCallback.OnStepRecords"/>).</summary>
    public IReadOnlyList<TrainingStepRecord> Steps => Log.Records;

    /// <summary>Gets the 1-based epoch with the lowest validation loss so far, or 0 before any (early stopping only).</summary>
    public int BestEpoch => Best.BestEpoch;

    /// <summary>Gets the lowest validation loss so far (+∞ before any).</summary>
    public double BestValidationLoss => Best.BestLoss;

    /// <summary>Gets the number of epochs since the best one (early stopping's patience counter).</summary>
    public int EpochsSinceBest { get; internal set; }

    /// <summary>Gets whether training was asked to stop (by a callback or by early stopping).</summary>
    public bool StopRequested => StopReason is not null;

    /// <summary>Gets why training was asked to stop, or null.</summary>
    public string? StopReason { get; private set; }

    /// <summary>Gets the token that cancels the run (checked before every batch).</summary>
    public CancellationToken Cancellation { get; }

    /// <summary>Gets the checkpoint folder this run resumed from, or null for a run that started afresh.</summary>
    public string? ResumedFrom { get; internal set; }

    /// <summary>The global step of this process's first step: 1, or the step after the checkpoint resumed from.</summary>
    internal long FirstStep => _firstStep;

    private long _firstStep = 1;

    /// <summary>Marks the current position as where this process's steps begin (after a resume).</summary>
    internal void MarkFirstStep() => _firstStep = GlobalStep + 1;

    /// <summary>Whether a step is under way (forward to optimizer step): a checkpoint is only written between steps.</summary>
    internal bool InStep { get; set; }

    internal IReadOnlyList<TrainingCallback> Callbacks { get; }

    /// <summary>
    /// Gets the buffer every gradient is a view into, set up by the loop after the first <c>backward()</c>: null before
    /// that, and when the gradients cannot share one (several devices or types). A data-parallel all-reduce in
    /// <see cref="TrainingCallback.OnAfterBackward"/> reduces its <see cref="ContiguousGradients.Buffer"/> with one call.
    /// </summary>
    public ContiguousGradients? Contiguous { get; internal set; }

    internal TrainingStepLog Log { get; }

    internal BestWeights Best { get; }

    internal List<EpochRecord> EpochList => _epochs;

    /// <summary>
    /// Asks training to stop after the current batch: the epoch is closed as usual (validation, epoch end) and the run
    /// ends normally. The first reason given is kept.
    /// </summary>
    /// <param name="reason">Why, for <see cref="TrainingHistory.StopReason"/>; e.g. "loss below 0.01".</param>
    /// <exception cref="ArgumentException"><paramref name="reason"/> is null or blank.</exception>
    public void RequestStop(string reason)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(reason);
        StopReason ??= reason;
    }

    /// <summary>
    /// Reads the record of the latest recorded step to the host (one synchronisation, together with any other pending
    /// step; the block then also reaches <see cref="TrainingCallback.OnStepRecords"/>). A step is recorded after its
    /// optimizer step: call this from <see cref="TrainingCallback.OnAfterOptimizerStep"/> or later (from an earlier hook
    /// it returns the previous step).
    /// </summary>
    /// <returns>The latest step's record.</returns>
    /// <exception cref="InvalidOperationException">No step has been recorded yet (the first step is recorded after its optimizer step).</exception>
    public TrainingStepRecord ReadLatestStep()
    {
        if (Log.HasPending) DeliverSteps(Log.Flush());
        return Log.Records.Count > 0 ? Log.Records[^1] : throw new InvalidOperationException(
            "No training step has been recorded yet: a step is recorded after its optimizer step, so read it from OnAfterOptimizerStep or later.");
    }

    internal bool HasNonFiniteWeights { get; set; }

    internal void DeliverSteps(IReadOnlyList<TrainingStepRecord> block)
    {
        if (block.Count == 0) return;
        CheckDivergence(block);
        foreach (var callback in Callbacks) callback.OnStepRecords(this, block);
    }

    /// <summary>Under <see cref="TrainingSettings.StopOnDivergence"/>, a non-finite loss in the records just read ends training.</summary>
    private void CheckDivergence(IReadOnlyList<TrainingStepRecord> block)
    {
        if (!Settings.StopOnDivergence) return;
        foreach (var step in block)
        {
            if (!double.IsFinite(step.Loss))
                throw new InvalidOperationException(
                    $"Training diverged at epoch {step.Epoch}, step {step.StepInEpoch} (step {step.Step} of the run): the loss is {step.Loss}. " +
                    "Lower the learning rate or clip the gradients (Clipping.Mode); StopOnDivergence = false records it and goes on.");
        }
    }
}
