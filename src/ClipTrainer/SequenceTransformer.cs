using ClipTrainer.Data;
using ClipTrainer.Scoring;
using ClipTrainer.Training;
using Microsoft.ML;
using Microsoft.ML.Data;

namespace ClipTrainer;

/// <summary>
/// A fitted ClipTrainer sequence model, as an ML.NET transformer: it appends the score columns of its task to any data
/// view with the feature column, scores in blocks in <see cref="Transform"/>, row by row through
/// <c>PredictionEngine</c>, and keeps the <see cref="History"/> of its training.
/// </summary>
/// <remarks>
/// A NaN feature at scoring time gives that row NaN scores, as ML.NET's linear trainers do (an infinite one may give
/// NaN or a saturated score), and leaves the other rows untouched; in training data either is rejected, naming the row
/// and the column.
/// Persist pipelines that hold it with <c>ClipTrainer.Persistence.SequencePipelineArchive.Save</c>; ML.NET's <c>mlContext.Model.Save</c>
/// cannot store external transformers (its save context is not public) and fails with a message that says so.
/// </remarks>
public sealed class SequenceTransformer : ISingleFeaturePredictionTransformer<SequenceModelParameters>, IDisposable
{
    private readonly SequenceScorer _scorer;

    internal SequenceTransformer(SequenceTask task, SequenceModelParameters model, string featureColumnName, DataViewType featureColumnType,
        OutputColumns outputs, TrainingHistory history, ComputeDevice device)
    {
        Task = task;
        Model = model;
        FeatureColumnName = featureColumnName;
        FeatureColumnType = featureColumnType;
        Outputs = outputs;
        History = history;
        Device = device;
        _scorer = new SequenceScorer(model.Network, outputs, model.InputSize, DeviceResolver.Resolve(device));
    }

    /// <summary>Gets the task the model was trained for.</summary>
    public SequenceTask Task { get; }

    /// <summary>Gets the trained network and its input shape.</summary>
    public SequenceModelParameters Model { get; }

    /// <summary>Gets the name of the feature column the model reads.</summary>
    public string FeatureColumnName { get; }

    /// <summary>Gets the type of the feature column at training time.</summary>
    public DataViewType FeatureColumnType { get; }

    /// <summary>Gets the per-epoch record of training: losses, validation metric, gradient norms, clipped fraction.</summary>
    public TrainingHistory History { get; }

    /// <summary>Gets the device the model scores on.</summary>
    public ComputeDevice Device { get; }

    /// <summary>Gets the names of the columns this transformer adds, in order (multiclass: PredictedLabel, Score; binary: PredictedLabel, Score, Probability; regression: Score).</summary>
    public IReadOnlyList<string> OutputColumnNames => Outputs.Names;

    internal OutputColumns Outputs { get; }

    /// <summary>Always true: the model scores each row on its own.</summary>
    public bool IsRowToRowMapper => true;

    /// <summary>
    /// Returns <paramref name="inputSchema"/> with the output columns added where ML.NET's scorers add theirs: an output
    /// column that hides an input column of the same name right after it, the others at the end.
    /// </summary>
    /// <param name="inputSchema">The schema of the data to score; it must hold the feature column.</param>
    /// <returns>The input columns and the output columns.</returns>
    /// <exception cref="ArgumentOutOfRangeException">The feature column is missing or of the wrong type or size.</exception>
    public DataViewSchema GetOutputSchema(DataViewSchema inputSchema) => Outputs.Append(Layout(inputSchema));

    private ScoredLayout Layout(DataViewSchema inputSchema)
    {
        ArgumentNullException.ThrowIfNull(inputSchema);
        SequenceSchemaChecks.CheckFeatureColumn(inputSchema, FeatureColumnName, Model.InputSize, Model.SequenceLength);
        return Outputs.Layout(inputSchema);
    }

    /// <summary>Scores <paramref name="input"/> lazily: rows are scored in blocks as a cursor reaches them.</summary>
    /// <param name="input">The data to score; it must hold the feature column.</param>
    /// <returns>A data view of the input's columns and the output columns.</returns>
    /// <exception cref="ArgumentOutOfRangeException">The feature column is missing or of the wrong type or size.</exception>
    /// <exception cref="ObjectDisposedException">The transformer was disposed.</exception>
    public IDataView Transform(IDataView input)
    {
        ArgumentNullException.ThrowIfNull(input);
        ThrowIfDisposed();
        return new ScoredDataView(input, Layout(input.Schema), _scorer, Outputs, FeatureColumnName);
    }

    /// <summary>Returns a mapper that scores one row at a time (used by <c>PredictionEngine</c>).</summary>
    /// <param name="inputSchema">The schema of the rows to score; it must hold the feature column.</param>
    /// <returns>The mapper.</returns>
    /// <exception cref="ArgumentOutOfRangeException">The feature column is missing or of the wrong type or size.</exception>
    /// <exception cref="ObjectDisposedException">The transformer was disposed.</exception>
    public IRowToRowMapper GetRowToRowMapper(DataViewSchema inputSchema) => _disposed
        ? throw new ObjectDisposedException(nameof(SequenceTransformer))
        : new SequenceRowMapper(Layout(inputSchema), _scorer, Outputs, FeatureColumnName);

    /// <summary>Not supported: ML.NET's model format cannot hold external transformers.</summary>
    /// <exception cref="NotSupportedException">Always; use <c>SequencePipelineArchive.Save</c>.</exception>
    void ICanSaveModel.Save(ModelSaveContext ctx) => throw new NotSupportedException(
        "mlContext.Model.Save cannot store a ClipTrainer SequenceTransformer (ML.NET's save context and loader registry are not public). " +
        "Save the fitted pipeline with ClipTrainer.Persistence.SequencePipelineArchive.Save(mlContext, model, inputSchema, path) " +
        "and load it with SequencePipelineArchive.Load(mlContext, path, out inputSchema).");

    /// <summary>
    /// Releases the network's tensors. Afterwards <see cref="Transform"/>, <see cref="GetRowToRowMapper"/>, and cursors
    /// or prediction engines made before, throw <see cref="ObjectDisposedException"/> naming this type.
    /// </summary>
    public void Dispose()
    {
        _disposed = true;
        _scorer.Release(); // under the scorer's lock: a forward running on another thread finishes first
    }

    private bool _disposed;

    private void ThrowIfDisposed() => ObjectDisposedException.ThrowIf(_disposed, this);
}
