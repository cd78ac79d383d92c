using ClipTrainer.Data;
using ClipTrainer.Clipping;

namespace ClipTrainer.Training;

/// <summary>
/// Everything <see cref="SequenceTrainingLoop"/> needs besides the model, the data and the task: optimizer, schedule,
/// regularization, clipping, early stopping, seed, device, monitoring and callbacks.
/// </summary>
/// <remarks>
/// The one definition of every training option: the ML.NET trainer's <see cref="SequenceTrainerOptions"/> derives from
/// this class and adds only the columns, the sequence shape and the model, so an option is written once.
/// </remarks>
public class TrainingSettings
{
    /// <summary>Gets or sets the optimizer.</summary>
    /// <value>Default: <see cref="OptimizerKind.Adam"/>.</value>
    public OptimizerKind Optimizer { get; set; } = TrainingDefaults.Optimizer;

    /// <summary>Gets or sets the base learning rate.</summary>
    /// <value>Range: &gt; 0, finite. Default: 0.01.</value>
    public double LearningRate { get; set; } = TrainingDefaults.LearningRate;

    /// <summary>Gets or sets the momentum of <see cref="OptimizerKind.Sgd"/> and <see cref="OptimizerKind.RmsProp"/> (ignored by the Adam family).</summary>
    /// <value>Range: [0, 1). Default: 0.9.</value>
    public double Momentum { get; set; } = TrainingDefaults.Momentum;

    /// <summary>Gets or sets the weight decay: decoupled under AdamW, an L2 term on the gradient otherwise.</summary>
    /// <value>Range: ≥ 0, finite. Default: 0.</value>
    public double WeightDecay { get; set; }

    /// <summary>Gets or sets the L1 penalty: <c>L1Penalty × Σ|w|</c> over all parameters is added to the loss.</summary>
    /// <value>Range: ≥ 0, finite. Default: 0.</value>
    public double L1Penalty { get; set; }

    /// <summary>Gets or sets the number of passes over the training data (fewer if early stopping ends the run).</summary>
    /// <value>Range: &gt; 0. Default: 10.</value>
    public int MaximumNumberOfEpochs { get; set; } = TrainingDefaults.MaximumNumberOfEpochs;

    /// <summary>Gets or sets the number of sequences per optimizer step.</summary>
    /// <value>Range: &gt; 0. Default: 32.</value>
    public int BatchSize { get; set; } = TrainingDefaults.BatchSize;

    /// <summary>Gets or sets whether the training rows are reshuffled (seeded) before every epoch.</summary>
    /// <value>Default: <see langword="true"/>.</value>
    public bool Shuffle { get; set; } = TrainingDefaults.Shuffle;

    /// <summary>Gets or sets the learning-rate schedule.</summary>
    /// <value>Default: <see cref="LearningRateSchedule.OneCycle"/>.</value>
    public LearningRateSchedule Schedule { get; set; } = TrainingDefaults.Schedule;

    /// <summary>Gets or sets the fraction of all steps spent warming up (scheduled runs only).</summary>
    /// <value>Range: [0, 1]. Default: 0.1.</value>
    public double WarmupFraction { get; set; } = TrainingDefaults.WarmupFraction;

    /// <summary>Gets or sets the learning rate at the first step as a fraction of <see cref="LearningRate"/> (scheduled runs only).</summary>
    /// <value>Range: &gt; 0, finite. Default: 0.1.</value>
    public double StartLearningRateRatio { get; set; } = TrainingDefaults.StartLearningRateRatio;

    /// <summary>Gets or sets the learning rate at the last step as a fraction of <see cref="LearningRate"/> (scheduled runs only).</summary>
    /// <value>Range: ≥ 0, finite. Default: 0.9.</value>
    public double FinalLearningRateRatio { get; set; } = TrainingDefaults.FinalLearningRateRatio;

    /// <summary>
    /// Gets or sets how many epochs without a lower validation loss end training early, after which the weights of the
    /// best epoch are restored; <see langword="null"/> turns early stopping off. Needs validation data.
    /// </summary>
    /// <value>Range: null or &gt; 0. Default: null (off).</value>
    public int? EarlyStoppingPatience { get; set; }

    /// <summary>Gets or sets the gradient-clipping options, applied after every backward pass.</summary>
    /// <value>Default: global L2-norm clipping at 1.0 (see <see cref="GradientClippingOptions"/>).</value>
    public GradientClippingOptions Clipping { get; set; } = new();

    /// <summary>Gets or sets the seed of the weights, dropout and shuffling; the same seed gives the same run.</summary>
    /// <value>Default: 1.</value>
    public int Seed { get; set; } = TrainingDefaults.Seed;

    /// <summary>Gets or sets the device.</summary>
    /// <value>Default: <see cref="ComputeDevice.Cpu"/>.</value>
    public ComputeDevice Device { get; set; } = TrainingDefaults.Device;

    /// <summary>
    /// Gets or sets how many threads libtorch uses while this run trains (restored afterwards). Null applies the default
    /// rule: one thread when the model's parameter count × <see cref="BatchSize"/> is below 2²⁶ (about 67 million; an
    /// LSTM of 256 units over 10 features at batch 128 is 35 million) or the machine has one core, else libtorch's own
    /// setting (one thread per physical core unless the process changed it). Measured on 2 cores shared with other work:
    /// every LSTM up to that size trained 3–11× faster on one thread than on two (on an idle machine two threads were at
    /// most 1.5× faster); set this to use more threads for a mid-sized model on an idle machine. Scoring (<c>Transform</c>, prediction engines) applies the same rule with the rows of each
    /// forward pass. libtorch's thread count is process-wide: scoring on other threads meanwhile uses it too.
    /// </summary>
    /// <value>Range: null or &gt; 0. Default: null (the rule above).</value>
    public int? NumberOfThreads { get; set; }

    /// <summary>
    /// Gets or sets a callback whose <c>Report</c> is called on the training thread after every epoch (a
    /// <see cref="Progress{T}"/> then posts to its context asynchronously). Training holds a process-wide lock meanwhile:
    /// the callback must not wait for another thread that trains or builds a model.
    /// </summary>
    /// <value>Default: null.</value>
    public IProgress<EpochRecord>? EpochProgress { get; set; }

    /// <summary>
    /// Gets or sets a callback whose <c>Report</c> is called on the training thread every <see cref="StepReportInterval"/>
    /// steps of an epoch with that step's record; the same lock rule as <see cref="EpochProgress"/> applies.
    /// </summary>
    /// <value>Default: null.</value>
    public IProgress<TrainingStepRecord>? StepProgress { get; set; }

    /// <summary>Gets or sets how many optimizer steps lie between two <see cref="StepProgress"/> reports (each costs one host sync).</summary>
    /// <value>Range: &gt; 0. Default: 10.</value>
    public int StepReportInterval { get; set; } = TrainingDefaults.StepReportInterval;

    /// <summary>
    /// Gets or sets whether a diverged run throws: a non-finite training loss (found when a block of step records is
    /// read, so within <see cref="StepRecordBlockSize"/> steps) or non-finite weights at the end end training with an
    /// <see cref="InvalidOperationException"/> naming the epoch and step. Off, the run goes on and
    /// <see cref="TrainingHistory.Diverged"/> says so.
    /// </summary>
    /// <value>Default: false.</value>
    public bool StopOnDivergence { get; set; }

    /// <summary>
    /// Gets or sets a token that cancels training: checked before every batch, it ends the run with
    /// <see cref="OperationCanceledException"/> (after <see cref="TrainingCallback.OnException"/>), with libtorch's thread
    /// count and random state restored. The loop's own <c>cancellation</c> argument works the same; either one cancels.
    /// </summary>
    /// <value>Default: <see cref="CancellationToken.None"/>.</value>
    public CancellationToken CancellationToken { get; set; }

    /// <summary>
    /// Gets or sets checkpointing: where and how often the run's whole state is written, and whether the run resumes
    /// from a checkpoint (see <see cref="CheckpointOptions"/>); null writes none. With checkpointing on, a cancelled run
    /// also writes one before its <see cref="OperationCanceledException"/> leaves, so it can be resumed.
    /// </summary>
    /// <value>Default: null (off).</value>
    public CheckpointOptions? Checkpoints { get; set; }

    /// <summary>
    /// Gets the callbacks whose hooks the loop calls, in list order (see <see cref="TrainingCallback"/> for the hook order),
    /// before <see cref="EpochProgress"/> and <see cref="StepProgress"/>.
    /// </summary>
    /// <value>Default: empty.</value>
    public IList<TrainingCallback> Callbacks { get; private set; } = new List<TrainingCallback>();

    /// <summary>Gets or sets which per-group gradient norms every step record holds beside the global norm.</summary>
    /// <value>Default: <see cref="GradientNormDetail.None"/> (per-group norms cost a little every step).</value>
    public GradientNormDetail RecordGradientNorms { get; set; }

    /// <summary>
    /// Gets or sets how many per-step records are kept on the device before they are read to the host in one
    /// synchronisation (and handed to <see cref="TrainingCallback.OnStepRecords"/>); epochs end a block early.
    /// </summary>
    /// <value>Range: [1, 65536] (the block is allocated on the device up front). Default: 256.</value>
    public int StepRecordBlockSize { get; set; } = TrainingDefaults.StepRecordBlockSize;

    private const int MaximumStepRecordBlockSize = 65536;

    /// <summary>Checks every setting, clipping included, and throws on the first one out of range.</summary>
    /// <exception cref="ArgumentOutOfRangeException">A setting is out of its range; the parameter name is the setting's.</exception>
    /// <exception cref="ArgumentNullException"><see cref="Clipping"/> is null or <see cref="Callbacks"/> holds null.</exception>
    /// <exception cref="ArgumentException">The clipping options' rule factory does not fit their mode, or <see cref="Checkpoints"/> names no folder.</exception>
    public virtual void Validate() => ValidateSettings();

    /// <summary>The checks of the training settings alone: what the loop needs, whatever derived options add.</summary>
    internal void ValidateSettings()
    {
        Require(Enum.IsDefined(Optimizer), Optimizer, nameof(Optimizer), "a defined OptimizerKind");
        Require(LearningRate > 0 && double.IsFinite(LearningRate), LearningRate, nameof(LearningRate), "a finite number > 0");
        Require(Momentum >= 0 && Momentum < 1, Momentum, nameof(Momentum), "in [0, 1)");
        Require(WeightDecay >= 0 && double.IsFinite(WeightDecay), WeightDecay, nameof(WeightDecay), "a finite number >= 0");
        Require(L1Penalty >= 0 && double.IsFinite(L1Penalty), L1Penalty, nameof(L1Penalty), "a finite number >= 0");
        Require(MaximumNumberOfEpochs > 0, MaximumNumberOfEpochs, nameof(MaximumNumberOfEpochs), "> 0");
        Require(BatchSize > 0, BatchSize, nameof(BatchSize), "> 0");
        Require(Enum.IsDefined(Schedule), Schedule, nameof(Schedule), "a defined LearningRateSchedule");
        Require(WarmupFraction >= 0 && WarmupFraction <= 1, WarmupFraction, nameof(WarmupFraction), "in [0, 1]");
        Require(StartLearningRateRatio > 0 && double.IsFinite(StartLearningRateRatio), StartLearningRateRatio, nameof(StartLearningRateRatio), "a finite number > 0");
        Require(FinalLearningRateRatio >= 0 && double.IsFinite(FinalLearningRateRatio), FinalLearningRateRatio, nameof(FinalLearningRateRatio), "a finite number >= 0");
        Require(EarlyStoppingPatience is null or > 0, EarlyStoppingPatience, nameof(EarlyStoppingPatience), "null (off) or > 0");
        Require(Enum.IsDefined(Device), Device, nameof(Device), "a defined ComputeDevice");
        Require(NumberOfThreads is null or > 0, NumberOfThreads, nameof(NumberOfThreads), "null (libtorch's setting) or > 0");
        Require(StepReportInterval > 0, StepReportInterval, nameof(StepReportInterval), "> 0");
        Require(Enum.IsDefined(RecordGradientNorms), RecordGradientNorms, nameof(RecordGradientNorms), "a defined GradientNormDetail");
        Require(StepRecordBlockSize is > 0 and <= MaximumStepRecordBlockSize, StepRecordBlockSize, nameof(StepRecordBlockSize), $"in [1, {MaximumStepRecordBlockSize}]");
        if (Callbacks.Any(c => c is null)) throw new ArgumentNullException(nameof(Callbacks), "Callbacks cannot hold null.");
        ArgumentNullException.ThrowIfNull(Clipping, nameof(Clipping));
        Clipping.Validate();
        Checkpoints?.Validate();
    }

    /// <summary>Returns a copy whose clipping options and callback list are copies too (the callbacks themselves are shared).</summary>
    /// <returns>A copy of the same type.</returns>
    protected TrainingSettings CloneSettings()
    {
        var copy = (TrainingSettings)MemberwiseClone();
        copy.Clipping = Clipping?.Clone()!;
        copy.Callbacks = new List<TrainingCallback>(Callbacks);
        copy.Checkpoints = Checkpoints?.Clone();
        return copy;
    }

    /// <summary>A copy as <see cref="CloneSettings"/> makes it, for the library's own runs derived from these settings (the threshold probe).</summary>
    internal TrainingSettings CopySettings() => CloneSettings();

    private protected static void Require(bool valid, object? value, string name, string expected)
    {
        if (!valid)
            throw new ArgumentOutOfRangeException(name, value,
                string.Create(System.Globalization.CultureInfo.InvariantCulture, $"{name} must be {expected}; got {value?.ToString() ?? "null"}."));
    }
}
