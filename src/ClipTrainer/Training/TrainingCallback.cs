using ClipTrainer.Clipping;
using ClipTrainer.Data;
using static TorchSharp.torch;

namespace ClipTrainer.Training;

/// <summary>
/// A hook into the training loop: override the methods you need. Monitoring sinks, probes, data-parallel
/// all-reduces and checkpoints are callbacks; the loop calls every callback's hooks in list order
/// (<see cref="TrainingSettings.Callbacks"/>), on the training thread, in this fixed order:
/// </summary>
/// <remarks>
/// <code>
/// OnTrainingStart
///   for each epoch:
///     OnEpochStart
///       for each batch:
///         OnBatchStart(batch)
///         (zero_grad → forward → loss → backward)
///         OnAfterBackward(loss)          gradients exist, not yet clipped: an all-reduce goes here
///         (clip)
///         OnAfterClip(report)            the clip report is alive; gradients are clipped
///         (optimizer step, unless the report says SkipStep; the step is recorded)
///         OnAfterOptimizerStep(report)   weights updated; state.ReadLatestStep() gives this step's record
///         OnStepRecords(records)         whenever a block of per-step records has been read to the host
///     OnStepRecords(records)             the rest of the epoch's records
///     (validation, early stopping)
///     OnEpochEnd(record)
/// OnTrainingEnd(history)                 after the best weights were restored
/// OnException(exception)                 instead of the remaining hooks, when training throws or is cancelled
///                                        (after OnStepRecords delivered the steps recorded so far)
/// </code>
/// <para>A callback asks training to stop with <see cref="TrainingState.RequestStop"/>: the loop finishes the current
/// batch, closes the epoch (validation, <see cref="OnEpochEnd"/>) and ends normally, with
/// <see cref="TrainingHistory.StopReason"/> set; asked before an epoch's first batch (in <see cref="OnTrainingStart"/>
/// or <see cref="OnEpochStart"/>), training ends without running that epoch, which then has no record.
/// <see cref="OnStepRecords"/> may also come before a step's <see cref="OnAfterOptimizerStep"/>: the first applied step
/// after skipped ones delivers the skipped steps' records first. An exception thrown by a hook ends training: the loop calls
/// <see cref="OnException"/> on every callback and rethrows it.</para>
/// <para>Tensors passed to a hook belong to the step's dispose scope: read them during the hook, or copy them
/// (<c>clone().DetachFromDisposeScope()</c>) to keep them. Reading a tensor's value on the host (<c>item()</c>) costs a
/// synchronisation on a GPU. A step has one of its own (the clipper's non-finite check reads the total norm); the
/// per-step records add none, since they are delivered in blocks through <see cref="OnStepRecords"/>. The report's
/// per-parameter norms (<see cref="GradientClipReport.ParameterNormsTensor"/>) are measured only when the history
/// records them (<see cref="TrainingSettings.RecordGradientNorms"/>); otherwise that property is null. A callback instance may serve several runs (cross-validation fits once per fold): reset its state in
/// <see cref="OnTrainingStart"/>. Training holds a process-wide lock meanwhile, so a hook must not wait for another
/// thread that trains or builds a model.</para>
/// </remarks>
public abstract class TrainingCallback
{
    /// <summary>Called once before the first epoch, after the model, optimizer and clipper are set up.</summary>
    /// <param name="state">The training state.</param>
    public virtual void OnTrainingStart(TrainingState state)
    {
    }

    /// <summary>Called at the start of every epoch (<see cref="TrainingState.Epoch"/> is the new epoch).</summary>
    /// <param name="state">The training state.</param>
    public virtual void OnEpochStart(TrainingState state)
    {
    }

    /// <summary>Called before each batch's forward pass.</summary>
    /// <param name="state">The training state (<see cref="TrainingState.StepInEpoch"/> is this batch's step).</param>
    /// <param name="batch">The batch, on the CPU or the device as the source made it.</param>
    public virtual void OnBatchStart(TrainingState state, SequenceBatch batch)
    {
    }

    /// <summary>Called after <c>backward()</c>: the gradients exist and are not clipped yet.</summary>
    /// <param name="state">The training state; <see cref="TrainingState.Parameters"/> holds the weights and their gradients.</param>
    /// <param name="loss">The batch's data loss, a 0-dimensional tensor on the device.</param>
    public virtual void OnAfterBackward(TrainingState state, Tensor loss)
    {
    }

    /// <summary>Called after clipping, before the optimizer step.</summary>
    /// <param name="state">The training state.</param>
    /// <param name="report">What clipping measured and did; alive until the step ends.</param>
    public virtual void OnAfterClip(TrainingState state, GradientClipReport report)
    {
    }

    /// <summary>Called after the optimizer step (or after it was skipped, when <paramref name="report"/> says so).</summary>
    /// <param name="state">The training state; the step is already recorded (<see cref="TrainingState.ReadLatestStep"/>).</param>
    /// <param name="report">The step's clip report.</param>
    public virtual void OnAfterOptimizerStep(TrainingState state, GradientClipReport report)
    {
    }

    /// <summary>
    /// Called whenever per-step records have been read to the host in one block: every
    /// <see cref="TrainingSettings.StepRecordBlockSize"/> steps, when a callback asked for the latest step, and at each
    /// epoch's end. Sinks that log every step (files, TensorBoard) write here, at no extra synchronisation.
    /// </summary>
    /// <param name="state">The training state.</param>
    /// <param name="records">The new records, in step order.</param>
    public virtual void OnStepRecords(TrainingState state, IReadOnlyList<TrainingStepRecord> records)
    {
    }

    /// <summary>Called at the end of every epoch, after validation and the early-stopping decision.</summary>
    /// <param name="state">The training state.</param>
    /// <param name="record">The epoch's record (also the last of <see cref="TrainingState.Epochs"/>).</param>
    public virtual void OnEpochEnd(TrainingState state, EpochRecord record)
    {
    }

    /// <summary>Called once when training ends normally (the last epoch, early stopping or a stop request).</summary>
    /// <param name="state">The training state.</param>
    /// <param name="history">The history the loop returns.</param>
    public virtual void OnTrainingEnd(TrainingState state, TrainingHistory history)
    {
    }

    /// <summary>
    /// Called when training throws (non-finite gradients under the Error policy, a failing hook, an
    /// <see cref="OperationCanceledException"/> on cancellation), before the exception leaves the loop.
    /// </summary>
    /// <param name="state">The training state as it was when the exception was thrown.</param>
    /// <param name="exception">The exception, which the loop rethrows afterwards.</param>
    public virtual void OnException(TrainingState state, Exception exception)
    {
    }
}
