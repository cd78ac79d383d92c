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
    /// Returns the schema shape after <see cref="Fit(IDataView)"/>: the input plus the output columns of the task, listed and
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
    /// <exception cref="ArgumentOutOfRangeException">
    /// A column is missing, of the wrong type, or a vector of the wrong size; or the built-in model, estimated from the
    /// options before the data is read, cannot be trained in the available memory (the message names the sizes and the estimate).
    /// </exception>
    /// <exception cref="ArgumentException">The data has no row with a label.</exception>
    /// <exception cref="InvalidOperationException">Non-finite gradients under the Error policy, or an unavailable device.</exception>
    public SequenceTransformer Fit(IDataView input) => Fit(input, initialModel: null);

    /// <summary>
    /// Continues training from a fitted model (warm start): the new model starts from a copy of
    /// <paramref name="initialModel"/>'s weights instead of the seed's initialisation, then trains as
    /// <see cref="Fit(IDataView)"/> does with these options (a fresh optimizer and schedule). <paramref name="initialModel"/>
    /// itself is not changed and stays usable.
    /// </summary>
    /// <param name="input">The training data, with the feature and label columns.</param>
    /// <param name="initialModel">
    /// The model to start from, e.g. <see cref="SequenceTransformer.Model"/> of an earlier fit or a loaded archive's; null
    /// trains from the seed's initialisation. It must be the model these options build for this data: the same module
    /// (factory name and options: cell type, hidden size, layers, …), input size, sequence length and number of outputs.
    /// </param>
    /// <returns>The fitted transformer, holding a new trained model and this fit's training history.</returns>
    /// <exception cref="ArgumentException"><paramref name="initialModel"/> is not the model these options build for this data; the message lists every difference.</exception>
    /// <exception cref="ArgumentOutOfRangeException">As for <see cref="Fit(IDataView)"/>.</exception>
    /// <exception cref="InvalidOperationException">As for <see cref="Fit(IDataView)"/>.</exception>
    public SequenceTransformer Fit(IDataView input, SequenceModelParameters? initialModel)
    {
        var (features, label) = CheckTrainingColumns(input);
        if (initialModel is not null) CheckInitialModel(initialModel, label); // before any row is read
        if (_options.ModuleFactoryName is null) CheckTrainingFits(label.OutputSize); // the built-in model's size is known before the data is read
        var keyValues = _task == SequenceTask.MulticlassClassification ? LabelKeyValues.FromColumn(input.Schema[label.Name]) : null;
        var outputs = new OutputColumns(_task, _options.ScoreColumnName, _options.PredictionColumnName, label.NumberOfClasses, keyValues);
        var validationInfo = _options.ValidationSet is { } validationSet ? CheckValidationSet(validationSet, input.Schema[label.Name], label) : default;

        var (training, validation) = _options.StreamingShuffleBufferSize is int bufferSize
            ? StreamingSources(input, features, label, validationInfo, bufferSize)
            : InMemorySources(input, features, label, validationInfo);

        var (network, moduleName, moduleOptions) = CreateNetwork(label);
        try
        {
            if (initialModel is not null) network.load_state_dict(initialModel.Network.state_dict()); // copies: the initial model is left as it was
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
    /// training that <see cref="Fit(IDataView)"/> would run on <paramref name="data"/> (same options, model, data order, optimizer and
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

    /// <summary>
    /// Refuses a built-in model that cannot be trained in the memory available: weights, gradients, two optimizer moments
    /// (Adam's; SGD and RMSprop keep no more) and a best-weights copy under early stopping, plus one batch's activations
    /// (a variable-length column is estimated at one step, since its longest row is not known before the data is read).
    /// </summary>
    private void CheckTrainingFits(int outputSize)
    {
        var model = _options.ToModelOptions(outputSize);
        int copies = 4 + (_options.EarlyStoppingPatience is null ? 0 : 1);
        SequenceModelSize.CheckFits(model, copies, SequenceModelSize.ActivationBytes(model, _options.BatchSize, _options.SequenceLength ?? 1),
            $"training it (BatchSize {_options.BatchSize}, SequenceLength {_options.SequenceLength?.ToString(System.Globalization.CultureInfo.InvariantCulture) ?? "variable"})");
    }

    /// <summary>Refuses an initial model that is not the one these options build for this data, listing every difference.</summary>
    private void CheckInitialModel(SequenceModelParameters initialModel, SequenceLabelColumnInfo label)
    {
        var (moduleName, moduleOptions) = _options.ModuleChoice();
        var differences = new List<string>();
        void Compare(string what, object? model, object? options)
        {
            if (!Equals(model, options)) differences.Add($"{what}: the initial model has {model ?? "none"}, the options and data give {options ?? "none"}");
        }

        Compare(nameof(SequenceTrainerOptions.ModuleFactoryName), initialModel.ModuleFactoryName, moduleName);
        Compare(nameof(SequenceTrainerOptions.InputSize), initialModel.InputSize, _options.InputSize);
        Compare(nameof(SequenceTrainerOptions.SequenceLength), initialModel.SequenceLength, _options.SequenceLength);
        Compare($"the number of outputs (label column '{label.Name}')", initialModel.OutputSize, label.OutputSize);
        if (initialModel.ModuleFactoryName == moduleName)
        {
            foreach (var key in initialModel.ModuleOptions.Keys.Union(moduleOptions.Keys).Order(StringComparer.Ordinal))
                Compare(key, initialModel.ModuleOptions.GetValueOrDefault(key), moduleOptions.GetValueOrDefault(key));
        }

        if (differences.Count > 0)
            throw new ArgumentException($"The initial model is not the model these options build for this data: {string.Join("; ", differences)}. " +
                "Fix: set the options to the initial model's (SequenceTransformer.Model shows them), or fit without an initial model.", nameof(initialModel));
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
