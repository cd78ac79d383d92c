using ClipTrainer.Data;
using ClipTrainer.Modeling;
using ClipTrainer.Scoring;
using ClipTrainer.Training;
using Microsoft.ML;
using Microsoft.ML.Data;

namespace ClipTrainer;

/// <summary>
/// The ClipTrainer estimator: trains a recurrent sequence model (RNN, LSTM or GRU) with gradient clipping on an
/// <see cref="IDataView"/> and returns a <see cref="SequenceTransformer"/>. Create it through the catalogs:
/// <c>mlContext.MulticlassClassification.Trainers.ClipTrainer(...)</c>, <c>BinaryClassification</c>, <c>Regression</c>.
/// </summary>
/// <remarks>
/// <para><b>Input and output columns.</b> The feature column is a vector of <see cref="float"/> holding one sequence,
/// time-major: a known-size vector of <c>SequenceLength × InputSize</c>, or a variable-size vector whose length is a
/// multiple of <c>InputSize</c>. The label is a key (multiclass; use <c>MapValueToKey</c>), a Boolean (binary) or a
/// Single (regression); rows with a missing label are skipped. Output, in the order and with the annotations of ML.NET's
/// own trainers (ScoreColumnSetId, ScoreColumnKind, ScoreValueKind and the label's values): multiclass
/// <c>PredictedLabel</c> (key, with the label's key values) and <c>Score</c> (vector of Single, softmax probabilities);
/// binary <c>PredictedLabel</c> (Boolean), <c>Score</c> and <c>Probability</c>; regression <c>Score</c>.</para>
/// <para><b>Trainer characteristics.</b> Machine learning task: multiclass, binary classification or regression.
/// Normalization: not required, but recommended for features of very different scales. Caching: the training data is
/// read once into memory, or, with <c>StreamingShuffleBufferSize</c>, read by cursor every epoch through a bounded shuffle buffer. Needs TorchSharp's native libtorch (CPU build), which the package's build step makes
/// loadable on older Linux distributions.</para>
/// </remarks>
public sealed class SequenceTrainer : IEstimator<SequenceTransformer>
{
    private readonly SequenceTask _task;
    private readonly SequenceTrainerOptions _options;

    /// <summary>Creates the estimator; the options are copied and checked now, before any data is read.</summary>
    /// <exception cref="ArgumentNullException"><paramref name="options"/> is null.</exception>
    /// <exception cref="ArgumentOutOfRangeException">An option is out of range (the parameter name is the option's).</exception>
    /// <exception cref="ArgumentException">Early stopping is on without a validation set.</exception>
    internal SequenceTrainer(SequenceTask task, SequenceTrainerOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        _task = task;
        _options = options.Clone();
        _options.Validate();
        new OutputColumns(task, _options.ScoreColumnName, _options.PredictionColumnName, classCount: 1, keyValues: null).CheckDistinctNames();
    }

    /// <summary>Gets the task this estimator trains for.</summary>
    public SequenceTask Task => _task;

    /// <summary>
    /// Returns the schema shape after <see cref="Fit"/>: the input plus the output columns of the task, listed and
    /// annotated as ML.NET's own trainers list theirs (score columns first, then the predicted label; an output column
    /// whose name the input has replaces that column in place).
    /// </summary>
    /// <param name="inputSchema">The shape of the training data.</param>
    /// <returns>The shape of the data the fitted transformer produces.</returns>
    /// <exception cref="ArgumentOutOfRangeException">The feature or label column is missing or of the wrong type.</exception>
    public SchemaShape GetOutputSchema(SchemaShape inputSchema)
    {
        ArgumentNullException.ThrowIfNull(inputSchema);
        SequenceSchemaChecks.CheckFeatureColumn(inputSchema, _options.FeatureColumnName);
        SequenceSchemaChecks.CheckLabelColumn(inputSchema, _options.LabelColumnName, _task);
        LabelKeyValues? keyValues = null;
        if (_task == SequenceTask.MulticlassClassification
            && inputSchema.FirstOrDefault(c => c.Name == _options.LabelColumnName).Annotations?.FirstOrDefault(a => a.Name == AnnotationUtilsKinds.KeyValues) is { Name: not null } values)
        {
            LabelKeyValues.CheckSupported(_options.LabelColumnName, values.ItemType);
            keyValues = LabelKeyValues.Placeholder(values.ItemType);
        }
        var outputs = new OutputColumns(_task, _options.ScoreColumnName, _options.PredictionColumnName, classCount: 1, keyValues);
        return SchemaShapeWorkaround.Append(inputSchema, outputs.ShapeSchema());
    }

    /// <summary>Checks the validation set's columns; its errors name the ValidationSet option.</summary>
    private (SequenceFeatureColumnInfo? Features, SequenceLabelColumnInfo? Label) CheckValidationSet(
        IDataView validationSet, DataViewSchema.Column trainingLabelColumn, SequenceLabelColumnInfo trainingLabel)
    {
        const string Name = nameof(SequenceTrainerOptions.ValidationSet);
        try
        {
            var features = SequenceSchemaChecks.CheckFeatureColumn(validationSet.Schema, _options.FeatureColumnName, _options.InputSize, _options.SequenceLength);
            var label = SequenceSchemaChecks.CheckLabelColumn(validationSet.Schema, _options.LabelColumnName, _task);
            if (_task == SequenceTask.MulticlassClassification && !SameClasses(trainingLabelColumn, validationSet.Schema[label.Name]))
                throw new ArgumentOutOfRangeException(Name,
                    $"The validation set's label column '{label.Name}' has {label.NumberOfClasses} classes or other key values than the training data's " +
                    $"({trainingLabel.NumberOfClasses} classes); key the validation labels with the MapValueToKey transformer fitted on the training data.");
            return (features, label);
        }
        catch (ArgumentOutOfRangeException e) when (e.ParamName != Name)
        {
            throw new ArgumentOutOfRangeException(Name, $"In the ValidationSet: {e.Message}");
        }
    }

    private static bool SameClasses(DataViewSchema.Column training, DataViewSchema.Column validation)
    {
        if ((training.Type as KeyDataViewType)?.Count != (validation.Type as KeyDataViewType)?.Count) return false;
        var (trainingValues, validationValues) = (LabelKeyValues.FromColumn(training), LabelKeyValues.FromColumn(validation));
        return trainingValues is null || validationValues is null || trainingValues.Values.SequenceEqual(validationValues.Values);
    }

    /// <summary>Reads the validation set; a data error in it says it is the ValidationSet, not the training data.</summary>
    private static SequenceDataset ReadValidationSet(IDataView data, (SequenceFeatureColumnInfo? Features, SequenceLabelColumnInfo? Label) info)
    {
        try
        {
            return SequenceColumnReader.Read(data, info.Features!, info.Label!);
        }
        catch (InvalidOperationException e)
        {
            throw new InvalidOperationException($"In the ValidationSet: {e.Message}", e);
        }
    }

    private (ISequenceBatchSource Training, ISequenceBatchSource? Validation) InMemorySources(IDataView input, SequenceFeatureColumnInfo features,
        SequenceLabelColumnInfo label, (SequenceFeatureColumnInfo? Features, SequenceLabelColumnInfo? Label) validationInfo, bool withValidation = true)
    {
        var training = SequenceColumnReader.Read(input, features, label);
        CheckRowCounts("The training data", nameof(input), training.Count, training.SkippedRowCount, label);
        var validation = withValidation && _options.ValidationSet is { } validationData ? ReadValidationSet(validationData, validationInfo) : null;
        if (validation is not null)
            CheckRowCounts($"The {nameof(SequenceTrainerOptions.ValidationSet)}", nameof(SequenceTrainerOptions.ValidationSet), validation.Count, validation.SkippedRowCount, label);
        return (new SequenceBatcher(training, _options.BatchSize, _options.Shuffle, _options.Seed),
            validation is null ? null : new SequenceBatcher(validation, _options.BatchSize, shuffle: false, _options.Seed));
    }

    private (ISequenceBatchSource Training, ISequenceBatchSource? Validation) StreamingSources(IDataView input, SequenceFeatureColumnInfo features,
        SequenceLabelColumnInfo label, (SequenceFeatureColumnInfo? Features, SequenceLabelColumnInfo? Label) validationInfo, int bufferSize, bool withValidation = true)
    {
        var training = DataViewBatchSource.Create(input, features, label, _options.BatchSize, _options.Shuffle ? bufferSize : 1, _options.Seed);
        CheckRowCounts("The training data", nameof(input), training.RowCount, training.SkippedRowCount, label);
        if (!withValidation || _options.ValidationSet is not { } validationData) return (training, null);
        const string Prefix = "In the ValidationSet: ";
        var validation = DataViewBatchSource.Create(validationData, validationInfo.Features!, validationInfo.Label!, _options.BatchSize, 1, _options.Seed, Prefix);
        CheckRowCounts($"The {nameof(SequenceTrainerOptions.ValidationSet)}", nameof(SequenceTrainerOptions.ValidationSet), validation.RowCount, validation.SkippedRowCount, label);
        return (training, validation);
    }

    private static void CheckRowCounts(string what, string parameterName, long rows, long skipped, SequenceLabelColumnInfo label)
    {
        if (rows == 0)
            throw new ArgumentException($"{what} has no row with a label: all {skipped} rows have a missing value in label column '{label.Name}'.", parameterName);
    }

    /// <summary>Reads <paramref name="input"/> (and the options' validation set), trains, and returns the fitted transformer.</summary>
    /// <param name="input">The training data, with the feature and label columns.</param>
    /// <returns>The fitted transformer, holding the trained model and its training history.</returns>
    /// <exception cref="ArgumentOutOfRangeException">A column is missing, of the wrong type, or a vector of the wrong size.</exception>
    /// <exception cref="ArgumentException">The data has no row with a label.</exception>
    /// <exception cref="InvalidOperationException">Non-finite gradients under the Error policy, or an unavailable device.</exception>
    public SequenceTransformer Fit(IDataView input)
    {
        var (features, label) = CheckTrainingColumns(input);
        var keyValues = _task == SequenceTask.MulticlassClassification ? LabelKeyValues.FromColumn(input.Schema[label.Name]) : null;
        var outputs = new OutputColumns(_task, _options.ScoreColumnName, _options.PredictionColumnName, label.NumberOfClasses, keyValues);
        var validationInfo = _options.ValidationSet is { } validationSet ? CheckValidationSet(validationSet, input.Schema[label.Name], label) : default;

        var (training, validation) = _options.StreamingShuffleBufferSize is int bufferSize
            ? StreamingSources(input, features, label, validationInfo, bufferSize)
            : InMemorySources(input, features, label, validationInfo);

        var (network, moduleName, moduleOptions) = CreateNetwork(label);
        try
        {
            var history = SequenceTrainingLoop.Run(network, _task, training, validation, _options);
            var parameters = new SequenceModelParameters(network, _options.SequenceLength, moduleName, moduleOptions, _options.InputSize, label.OutputSize);
            return new SequenceTransformer(_task, parameters, features.Name, input.Schema[features.Name].Type, outputs, history, _options.Device);
        }
        catch
        {
            network.Dispose();
            throw;
        }
    }

    /// <summary>
    /// Measures the gradient norms before a threshold is chosen: runs the first <paramref name="steps"/> steps of the
    /// training that <see cref="Fit"/> would run on <paramref name="data"/> (same options, model, data order, optimizer and
    /// schedule) without clipping, on a model of its own that is then discarded, and reports their norms with suggested
    /// thresholds (see <see cref="ThresholdProbe"/>). The ValidationSet is not read.
    /// </summary>
    /// <param name="data">The training data, with the feature and label columns.</param>
    /// <param name="steps">How many steps to run. Range: &gt; 0. Default: 100.</param>
    /// <returns>The report; <see cref="ThresholdProbeReport.ToClippingOptions"/> turns it into clipping options.</returns>
    /// <exception cref="ArgumentOutOfRangeException">A column is missing or of the wrong type, or <paramref name="steps"/> is not &gt; 0.</exception>
    /// <exception cref="ArgumentException">The data has no row with a label.</exception>
    /// <exception cref="InvalidOperationException">Non-finite gradients under the Error policy, or an unavailable device.</exception>
    public ThresholdProbeReport ProbeGradientNorms(IDataView data, int steps = ThresholdProbe.DefaultSteps)
    {
        var (features, label) = CheckTrainingColumns(data);
        var (training, _) = _options.StreamingShuffleBufferSize is int bufferSize
            ? StreamingSources(data, features, label, default, bufferSize, withValidation: false)
            : InMemorySources(data, features, label, default, withValidation: false);
        var (network, _, _) = CreateNetwork(label);
        using (network)
        {
            return ThresholdProbe.Run(network, _task, training, _options, steps);
        }
    }

    /// <summary>The checks of the training data's columns that come before any row is read.</summary>
    private (SequenceFeatureColumnInfo Features, SequenceLabelColumnInfo Label) CheckTrainingColumns(IDataView input)
    {
        ArgumentNullException.ThrowIfNull(input);
        DeviceResolver.Resolve(_options.Device); // before any data is read
        var features = SequenceSchemaChecks.CheckFeatureColumn(input.Schema, _options.FeatureColumnName, _options.InputSize, _options.SequenceLength);
        var label = SequenceSchemaChecks.CheckLabelColumn(input.Schema, _options.LabelColumnName, _task);
        if (_task == SequenceTask.MulticlassClassification && label.NumberOfClasses < 2)
            throw new ArgumentOutOfRangeException(nameof(input),
                $"Label column '{label.Name}' has {label.NumberOfClasses} class: multiclass classification needs at least 2 (a model of one class " +
                "scores every row 1 and learns nothing). Check that the data holds more than one label value before MapValueToKey.");
        return (features, label);
    }

    private (TorchSharp.torch.nn.Module<TorchSharp.torch.Tensor, TorchSharp.torch.Tensor?, TorchSharp.torch.Tensor> Network, string ModuleName, Dictionary<string, string> ModuleOptions) CreateNetwork(SequenceLabelColumnInfo label)
    {
        var (moduleName, moduleOptions) = _options.ModuleChoice();
        return (SequenceModuleRegistry.Create(moduleName, new SequenceModuleRequest(moduleOptions, _options.InputSize, label.OutputSize, _options.Seed)),
            moduleName, moduleOptions);
    }
}
