using ClipTrainer.Data;
using ClipTrainer.Modeling;
using ClipTrainer.Training;
using Microsoft.ML;

namespace ClipTrainer;

/// <summary>
/// Options of the ClipTrainer sequence trainers (<c>mlContext.*.Trainers.ClipTrainer(options)</c>): every training
/// setting of <see cref="TrainingSettings"/> (optimizer, schedule, regularization, clipping, early stopping, seed,
/// device, monitoring, callbacks), plus the columns, the sequence shape, the recurrent model and the validation set.
/// </summary>
/// <remarks>
/// One shape: the training settings are inherited, not copied, so the options the trainer checks are the settings the
/// training loop runs with. Names follow ML.NET's trainers where they exist (<see cref="LabelColumnName"/>,
/// <see cref="ScoreColumnName"/>, <see cref="PredictionColumnName"/>, <see cref="TrainingSettings.BatchSize"/>,
/// <see cref="TrainingSettings.WeightDecay"/>, <see cref="ValidationSet"/>,
/// <see cref="TrainingSettings.StartLearningRateRatio"/>, <see cref="TrainingSettings.FinalLearningRateRatio"/>), in full
/// where ML.NET abbreviates (<see cref="TrainingSettings.MaximumNumberOfEpochs"/> is the <c>MaxEpoch</c> of ML.NET's
/// TorchSharp trainers). Options are checked when the trainer is created.
/// </remarks>
public sealed class SequenceTrainerOptions : TrainingSettings
{
    /// <summary>Gets or sets the feature column: a float vector holding one sequence, time-major (step 0's features first).</summary>
    /// <value>Default: "Features".</value>
    public string FeatureColumnName { get; set; } = SequenceTrainerDefaults.FeatureColumnName;

    /// <summary>Gets or sets the label column: a key (multiclass), Boolean (binary) or Single (regression).</summary>
    /// <value>Default: "Label".</value>
    public string LabelColumnName { get; set; } = SequenceTrainerDefaults.LabelColumnName;

    /// <summary>Gets or sets the name of the score column the trainer adds.</summary>
    /// <value>Default: "Score".</value>
    public string ScoreColumnName { get; set; } = SequenceTrainerDefaults.ScoreColumnName;

    /// <summary>Gets or sets the name of the predicted-label column the classification trainers add.</summary>
    /// <value>Default: "PredictedLabel".</value>
    public string PredictionColumnName { get; set; } = SequenceTrainerDefaults.PredictionColumnName;

    /// <summary>Gets or sets the number of features at each time step; the feature vector's length is a multiple of it.</summary>
    /// <value>Range: &gt; 0. Default: 0 (unset: must be set).</value>
    public int InputSize { get; set; }

    /// <summary>
    /// Gets or sets the number of time steps, when every sequence has the same length: the feature column must then be
    /// a known-size vector of <c>SequenceLength × InputSize</c>. Null accepts any length that is a multiple of
    /// <see cref="InputSize"/> (variable-length sequences are padded and packed so the padding never changes a prediction).
    /// </summary>
    /// <value>Range: null or &gt; 0. Default: null.</value>
    public int? SequenceLength { get; set; }

    /// <summary>Gets or sets the recurrent cell.</summary>
    /// <value>Default: <see cref="RecurrentCellType.Lstm"/>.</value>
    public RecurrentCellType CellType { get; set; } = SequenceModelDefaults.CellType;

    /// <summary>Gets or sets the size of each recurrent layer's hidden state (per direction).</summary>
    /// <value>Range: &gt; 0. Default: 32.</value>
    public int HiddenSize { get; set; } = SequenceModelDefaults.HiddenSize;

    /// <summary>Gets or sets the number of stacked recurrent layers.</summary>
    /// <value>Range: [1, 1000]. Default: 1.</value>
    public int NumberOfLayers { get; set; } = SequenceModelDefaults.NumberOfLayers;

    /// <summary>Gets or sets whether each recurrent layer also reads the sequence backwards.</summary>
    /// <value>Default: false.</value>
    public bool Bidirectional { get; set; } = SequenceModelDefaults.Bidirectional;

    /// <summary>Gets or sets the dropout probability between recurrent layers and before the head (training only).</summary>
    /// <value>Range: [0, 1). Default: 0.</value>
    public double Dropout { get; set; } = SequenceModelDefaults.Dropout;

    /// <summary>Gets or sets how the per-step outputs become one vector: the last valid step, or the mean or maximum over valid steps.</summary>
    /// <value>Default: <see cref="SequencePooling.LastStep"/>.</value>
    public SequencePooling Pooling { get; set; } = SequenceModelDefaults.Pooling;

    /// <summary>
    /// Gets or sets T_max of the chrono initialisation of the LSTM's gate biases (Tallec &amp; Ollivier 2018), or null
    /// for the default initialisation: see <see cref="SequenceModelOptions.ChronoInitializationLength"/>. Set it to the
    /// longest dependency in the data (e.g. <see cref="SequenceLength"/>) when an LSTM stays on a baseline over long
    /// sequences.
    /// </summary>
    /// <value>Null, or an integer ≥ 3, with <see cref="CellType"/> = Lstm. Default: null.</value>
    public int? ChronoInitializationLength { get; set; }

    /// <summary>
    /// Gets or sets the validation data, evaluated after every epoch (loss and metric in the history) and needed by
    /// <see cref="TrainingSettings.EarlyStoppingPatience"/>. It must have the training data's columns as the trainer sees
    /// them: run it through the upstream transforms fitted on the training data (for example
    /// <c>mlContext.Transforms.Conversion.MapValueToKey("Label").Fit(train).Transform(validation)</c>), so its keys and
    /// scales are the training data's.
    /// </summary>
    /// <value>Default: null (no validation).</value>
    public IDataView? ValidationSet { get; set; }

    /// <summary>
    /// Gets or sets streaming: null reads the training data (and <see cref="ValidationSet"/>) into memory before the
    /// first step; a number K trains from the <see cref="IDataView"/> by cursor instead, reading it again every epoch
    /// (e.g. a file opened with <c>mlContext.Data.LoadFromBinary</c>), with a shuffle buffer of K rows, so memory holds
    /// K rows and a batch whatever the data's size. A cheap first pass over the label column counts the rows, so every
    /// schedule works. Shuffling is local: a row comes out at most K − 1 positions before its place in the data and more
    /// than d after it with probability (1 − 1/K)^(d + K); K ≥ the number of rows is a full shuffle; with
    /// <see cref="TrainingSettings.Shuffle"/> off, or K = 1, rows keep the data's order (and train exactly as in memory).
    /// </summary>
    /// <value>Range: null or &gt; 0. Default: null (in memory).</value>
    /// <remarks>An option, not a size threshold: the in-memory path shuffles fully and reads the data once, which is
    /// better whenever the data fits, and only the user knows whether it does (a view's row count is often unknown).</remarks>
    public int? StreamingShuffleBufferSize { get; set; }

    /// <summary>
    /// Gets or sets the name of a registered module factory (<see cref="SequenceModuleRegistry.Register"/>) that builds
    /// the model instead of the built-in recurrent one; the built-in model options (<see cref="CellType"/>,
    /// <see cref="HiddenSize"/>, <see cref="NumberOfLayers"/>, <see cref="Bidirectional"/>, <see cref="Dropout"/>,
    /// <see cref="Pooling"/>) are then ignored and <see cref="ModuleOptions"/> go to the factory. Archives store the
    /// name and the options, so the factory must be registered wherever the model is loaded.
    /// </summary>
    /// <value>Range: null or a registered name. Default: null (the built-in model, <see cref="SequenceModuleRegistry.RecurrentModuleName"/>).</value>
    public string? ModuleFactoryName { get; set; }

    /// <summary>Gets the options handed to the <see cref="ModuleFactoryName"/> factory and stored in archives (keys and values not null).</summary>
    /// <value>Default: empty.</value>
    public IDictionary<string, string> ModuleOptions { get; private set; } = new Dictionary<string, string>(StringComparer.Ordinal);

    /// <summary>
    /// Checks every option, the inherited training settings included, and throws on the first one out of range. Called
    /// by the trainer's constructor, so a bad option fails before any data is read.
    /// </summary>
    /// <exception cref="ArgumentNullException">A column name, <see cref="TrainingSettings.Clipping"/> or a callback is null.</exception>
    /// <exception cref="ArgumentOutOfRangeException">An option is out of its range; the parameter name is the option's.</exception>
    /// <exception cref="ArgumentException">
    /// <see cref="TrainingSettings.EarlyStoppingPatience"/> is set without a <see cref="ValidationSet"/>, or a column name is blank.
    /// </exception>
    public override void Validate()
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(FeatureColumnName, nameof(FeatureColumnName));
        ArgumentException.ThrowIfNullOrWhiteSpace(LabelColumnName, nameof(LabelColumnName));
        ArgumentException.ThrowIfNullOrWhiteSpace(ScoreColumnName, nameof(ScoreColumnName));
        ArgumentException.ThrowIfNullOrWhiteSpace(PredictionColumnName, nameof(PredictionColumnName));
        SequenceShapeArguments.Check(InputSize, SequenceLength, nameof(InputSize), nameof(SequenceLength));
        if (EarlyStoppingPatience is not null && ValidationSet is null)
            throw new ArgumentException($"EarlyStoppingPatience is {EarlyStoppingPatience} but no ValidationSet is given: early stopping needs validation data.", nameof(EarlyStoppingPatience));
        Require(StreamingShuffleBufferSize is null or > 0, StreamingShuffleBufferSize, nameof(StreamingShuffleBufferSize), "null (in memory) or > 0");
        ToModelOptions(outputSize: 1).Validate();
        ValidateModule();
        base.Validate();
    }

    private void ValidateModule()
    {
        ArgumentNullException.ThrowIfNull(ModuleOptions, nameof(ModuleOptions));
        if (ModuleOptions.Any(o => o.Value is null))
            throw new ArgumentNullException(nameof(ModuleOptions), $"ModuleOptions['{ModuleOptions.First(o => o.Value is null).Key}'] is null; every option needs a value.");
        if (ModuleFactoryName is null)
        {
            if (ModuleOptions.Count > 0)
                throw new ArgumentException(
                    $"ModuleOptions holds {ModuleOptions.Count} option(s) but ModuleFactoryName is null: set ModuleFactoryName to the registered " +
                    "factory they are meant for (the built-in model takes its options from CellType, HiddenSize and the rest).", nameof(ModuleOptions));
            return;
        }
        if (!SequenceModuleRegistry.IsRegistered(ModuleFactoryName))
            throw new ArgumentException(SequenceModuleRegistry.NotRegisteredMessage(ModuleFactoryName, "ModuleFactoryName"), nameof(ModuleFactoryName));
    }

    /// <summary>A copy whose clipping options, callback list and module options are copied too, so later edits by the caller do not reach a trainer.</summary>
    internal SequenceTrainerOptions Clone()
    {
        var copy = (SequenceTrainerOptions)CloneSettings();
        copy.ModuleOptions = new Dictionary<string, string>(ModuleOptions, StringComparer.Ordinal);
        return copy;
    }

    /// <summary>The factory and its options: the built-in model goes through the registry too, with its options as strings.</summary>
    internal (string Name, Dictionary<string, string> Options) ModuleChoice() => ModuleFactoryName is null
        ? (SequenceModuleRegistry.RecurrentModuleName, RecurrentModuleOptions.ToDictionary(ToModelOptions(outputSize: 1)))
        : (ModuleFactoryName, new Dictionary<string, string>(ModuleOptions, StringComparer.Ordinal));

    internal SequenceModelOptions ToModelOptions(int outputSize) => new()
    {
        CellType = CellType,
        InputSize = InputSize,
        HiddenSize = HiddenSize,
        NumberOfLayers = NumberOfLayers,
        Bidirectional = Bidirectional,
        Dropout = Dropout,
        Pooling = Pooling,
        ChronoInitializationLength = ChronoInitializationLength,
        OutputSize = outputSize,
    };
}
