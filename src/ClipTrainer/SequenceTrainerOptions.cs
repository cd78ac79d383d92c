using ClipTrainer.Data;
using ClipTrainer.Clipping;
using ClipTrainer.Modeling;
using ClipTrainer.Training;
using Microsoft.ML.TorchSharp;

namespace ClipTrainer;

/// <summary>
/// Options of the ClipTrainer sequence trainers (<c>mlContext.*.Trainers.ClipTrainer(options)</c>): the columns, the
/// sequence shape, the recurrent model, the optimizer and schedule, regularization, early stopping and the
/// gradient-clipping options of <see cref="GradientClippingOptions"/>, unchanged.
/// </summary>
/// <remarks>
/// Derives from ML.NET's <see cref="TorchSharpBaseTrainer.Options"/>, whose fields keep their names and meaning:
/// <see cref="TorchSharpBaseTrainer.Options.LabelColumnName"/>, <see cref="TorchSharpBaseTrainer.Options.ScoreColumnName"/>,
/// <see cref="TorchSharpBaseTrainer.Options.PredictionColumnName"/>, <see cref="TorchSharpBaseTrainer.Options.BatchSize"/>,
/// <see cref="TorchSharpBaseTrainer.Options.MaxEpoch"/> (default here: 10), <see cref="TorchSharpBaseTrainer.Options.WeightDecay"/>
/// (decoupled under AdamW, L2 otherwise), <see cref="TorchSharpBaseTrainer.Options.ValidationSet"/> (per-epoch validation
/// and early stopping), and <see cref="TorchSharpBaseTrainer.Options.StartLearningRateRatio"/> /
/// <see cref="TorchSharpBaseTrainer.Options.FinalLearningRateRatio"/> (the ends of the <see cref="LearningRateSchedule.OneCycle"/>
/// and <see cref="LearningRateSchedule.Cosine"/> schedules). Options are checked when the trainer is created.
/// </remarks>
public sealed class SequenceTrainerOptions : TorchSharpBaseTrainer.Options
{
    /// <summary>Creates options with every default; <see cref="InputSize"/> must still be set.</summary>
    public SequenceTrainerOptions()
    {
        MaxEpoch = TrainingDefaults.MaximumNumberOfEpochs;
        BatchSize = TrainingDefaults.BatchSize;
        StartLearningRateRatio = TrainingDefaults.StartLearningRateRatio;
        FinalLearningRateRatio = TrainingDefaults.FinalLearningRateRatio;
    }

    /// <summary>The feature column: a float vector holding one sequence, time-major (step 0's features first).</summary>
    /// <value>Default: "Features".</value>
    public string FeatureColumnName = SequenceTrainerDefaults.FeatureColumnName;

    /// <summary>The number of features at each time step; the feature vector's length is a multiple of it.</summary>
    /// <value>Range: &gt; 0. Default: 0 (unset: must be set).</value>
    public int InputSize;

    /// <summary>
    /// The number of time steps, when every sequence has the same length: the feature column must then be a known-size
    /// vector of <c>SequenceLength × InputSize</c>. Null accepts any length that is a multiple of <see cref="InputSize"/>
    /// (variable-length sequences are padded and packed so the padding never changes a prediction).
    /// </summary>
    /// <value>Range: null or &gt; 0. Default: null.</value>
    public int? SequenceLength;

    /// <summary>The recurrent cell.</summary>
    /// <value>Default: <see cref="RecurrentCellType.Lstm"/>.</value>
    public RecurrentCellType CellType = SequenceModelDefaults.CellType;

    /// <summary>The size of each recurrent layer's hidden state (per direction).</summary>
    /// <value>Range: &gt; 0. Default: 32.</value>
    public int HiddenSize = SequenceModelDefaults.HiddenSize;

    /// <summary>The number of stacked recurrent layers.</summary>
    /// <value>Range: &gt; 0. Default: 1.</value>
    public int NumberOfLayers = SequenceModelDefaults.NumberOfLayers;

    /// <summary>Whether each recurrent layer also reads the sequence backwards.</summary>
    /// <value>Default: false.</value>
    public bool Bidirectional = SequenceModelDefaults.Bidirectional;

    /// <summary>The dropout probability between recurrent layers and before the head (training only).</summary>
    /// <value>Range: [0, 1). Default: 0.</value>
    public double Dropout = SequenceModelDefaults.Dropout;

    /// <summary>How the per-step outputs become one vector: the last valid step, or the mean or maximum over valid steps.</summary>
    /// <value>Default: <see cref="SequencePooling.LastStep"/>.</value>
    public SequencePooling Pooling = SequenceModelDefaults.Pooling;

    /// <summary>The optimizer.</summary>
    /// <value>Default: <see cref="OptimizerKind.Adam"/>.</value>
    public OptimizerKind Optimizer = TrainingDefaults.Optimizer;

    /// <summary>The base learning rate.</summary>
    /// <value>Range: &gt; 0, finite. Default: 0.01.</value>
    public double LearningRate = TrainingDefaults.LearningRate;

    /// <summary>The momentum of SGD and RMSprop.</summary>
    /// <value>Range: [0, 1). Default: 0.9.</value>
    public double Momentum = TrainingDefaults.Momentum;

    /// <summary>The learning-rate schedule; the scheduled ones use the start and final learning-rate ratios.</summary>
    /// <value>Default: <see cref="LearningRateSchedule.OneCycle"/>, as in ML.NET's TorchSharp trainers.</value>
    public LearningRateSchedule Schedule = TrainingDefaults.Schedule;

    /// <summary>The fraction of all steps spent warming up, for the scheduled learning rates.</summary>
    /// <value>Range: [0, 1]. Default: 0.1.</value>
    public double WarmupFraction = TrainingDefaults.WarmupFraction;

    /// <summary>The L1 penalty: <c>L1Penalty × Σ|w|</c> is added to the training loss.</summary>
    /// <value>Range: ≥ 0, finite. Default: 0.</value>
    public double L1Penalty;

    /// <summary>Whether the training rows are reshuffled (seeded) before every epoch.</summary>
    /// <value>Default: true.</value>
    public bool Shuffle = TrainingDefaults.Shuffle;

    /// <summary>
    /// Epochs without a lower validation loss before training stops and the best epoch's weights are restored; null
    /// turns early stopping off. Needs <see cref="TorchSharpBaseTrainer.Options.ValidationSet"/>.
    /// </summary>
    /// <value>Range: null or &gt; 0. Default: null.</value>
    public int? EarlyStoppingPatience;

    /// <summary>The gradient-clipping options, as the clipping core takes them.</summary>
    /// <value>Default: global L2-norm clipping at threshold 1.</value>
    public GradientClippingOptions Clipping = new();

    /// <summary>The seed of weights, dropout and shuffling: the same seed and data give the same model.</summary>
    /// <value>Default: 1.</value>
    public int Seed = TrainingDefaults.Seed;

    /// <summary>The device to train and score on.</summary>
    /// <value>Default: <see cref="ComputeDevice.Cpu"/>.</value>
    public ComputeDevice Device = TrainingDefaults.Device;

    /// <summary>
    /// How many threads libtorch uses while training (restored afterwards); null leaves libtorch's setting. Small
    /// recurrent models often train fastest on one thread.
    /// </summary>
    /// <value>Range: null or &gt; 0. Default: null.</value>
    public int? NumberOfThreads;

    /// <summary>
    /// Its <c>Report</c> is called on the training thread after every epoch (a <see cref="Progress{T}"/> then posts
    /// asynchronously). Training holds a process-wide lock meanwhile: do not wait here for another thread that trains.
    /// </summary>
    /// <value>Default: null.</value>
    public IProgress<EpochRecord>? EpochProgress;

    /// <summary>
    /// Its <c>Report</c> is called on the training thread every <see cref="StepReportInterval"/> steps with the step's
    /// record (loss, norms before and after clipping, coefficients); the same rule as for <see cref="EpochProgress"/> applies.
    /// </summary>
    /// <value>Default: null.</value>
    public IProgress<TrainingStepRecord>? StepProgress;

    /// <summary>The number of steps between two <see cref="StepProgress"/> reports.</summary>
    /// <value>Range: &gt; 0. Default: 10.</value>
    public int StepReportInterval = TrainingDefaults.StepReportInterval;

    /// <summary>
    /// Hooks into the training loop (monitoring sinks such as <see cref="HistoryFilesCallback"/>, probes, your own
    /// <see cref="TrainingCallback"/>), called in list order at the points <see cref="TrainingCallback"/> documents. Every
    /// Fit calls them afresh (cross-validation fits once per fold).
    /// </summary>
    /// <value>Default: empty.</value>
    public List<TrainingCallback> Callbacks = [];

    /// <summary>Which per-group gradient norms (per layer, per parameter) the history records at every step.</summary>
    /// <value>Default: <see cref="GradientNormDetail.None"/>.</value>
    public GradientNormDetail RecordGradientNorms;

    /// <summary>How many per-step records stay on the device between two host reads.</summary>
    /// <value>Range: &gt; 0. Default: 256.</value>
    public int StepRecordBlockSize = TrainingDefaults.StepRecordBlockSize;

    /// <summary>
    /// Checks every option and throws on the first one out of range. Called by the trainer's constructor, so a bad
    /// option fails before any data is read.
    /// </summary>
    /// <exception cref="ArgumentNullException">A column name or <see cref="Clipping"/> is null.</exception>
    /// <exception cref="ArgumentOutOfRangeException">An option is out of its range; the parameter name is the option's.</exception>
    /// <exception cref="ArgumentException"><see cref="EarlyStoppingPatience"/> is set without a validation set.</exception>
    public void Validate()
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(FeatureColumnName, nameof(FeatureColumnName));
        ArgumentException.ThrowIfNullOrWhiteSpace(LabelColumnName, nameof(LabelColumnName));
        ArgumentException.ThrowIfNullOrWhiteSpace(ScoreColumnName, nameof(ScoreColumnName));
        ArgumentException.ThrowIfNullOrWhiteSpace(PredictionColumnName, nameof(PredictionColumnName));
        SequenceShapeArguments.Check(InputSize, SequenceLength, nameof(InputSize), nameof(SequenceLength));
        if (!(MaxEpoch > 0))
            throw new ArgumentOutOfRangeException(nameof(MaxEpoch), MaxEpoch, $"MaxEpoch must be > 0; got {MaxEpoch}.");
        if (EarlyStoppingPatience is not null && ValidationSet is null)
            throw new ArgumentException($"EarlyStoppingPatience is {EarlyStoppingPatience} but no ValidationSet is given: early stopping needs validation data.", nameof(EarlyStoppingPatience));
        ToModelOptions(outputSize: 1).Validate();
        ToTrainingSettings(SequenceTask.Regression).Validate();
    }

    /// <summary>A copy whose clipping options are copied too, so later edits by the caller do not reach a trainer.</summary>
    internal SequenceTrainerOptions Clone()
    {
        var copy = (SequenceTrainerOptions)MemberwiseClone();
        copy.Clipping = Clipping?.Clone()!;
        copy.Callbacks = Callbacks is null ? null! : [.. Callbacks];
        return copy;
    }

    internal SequenceModelOptions ToModelOptions(int outputSize) => new()
    {
        CellType = CellType,
        InputSize = InputSize,
        HiddenSize = HiddenSize,
        NumberOfLayers = NumberOfLayers,
        Bidirectional = Bidirectional,
        Dropout = Dropout,
        Pooling = Pooling,
        OutputSize = outputSize,
    };

    internal TrainingSettings ToTrainingSettings(SequenceTask task)
    {
        ArgumentNullException.ThrowIfNull(Callbacks, nameof(Callbacks));
        var settings = new TrainingSettings
        {
            Task = task,
            Optimizer = Optimizer,
            LearningRate = LearningRate,
            Momentum = Momentum,
            WeightDecay = WeightDecay,
            L1Penalty = L1Penalty,
            MaximumNumberOfEpochs = MaxEpoch,
            BatchSize = BatchSize,
            Shuffle = Shuffle,
            Schedule = Schedule,
            WarmupFraction = WarmupFraction,
            StartLearningRateRatio = StartLearningRateRatio,
            FinalLearningRateRatio = FinalLearningRateRatio,
            EarlyStoppingPatience = EarlyStoppingPatience,
            Clipping = Clipping,
            Seed = Seed,
            Device = Device,
            NumberOfThreads = NumberOfThreads,
            EpochProgress = EpochProgress,
            StepProgress = StepProgress,
            StepReportInterval = StepReportInterval,
            RecordGradientNorms = RecordGradientNorms,
            StepRecordBlockSize = StepRecordBlockSize,
        };
        foreach (var callback in Callbacks) settings.Callbacks.Add(callback);
        return settings;
    }
}
