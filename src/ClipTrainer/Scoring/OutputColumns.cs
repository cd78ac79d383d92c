using ClipTrainer.Data;
using Microsoft.ML;
using Microsoft.ML.Data;

namespace ClipTrainer.Scoring;

/// <summary>
/// The columns a fitted sequence model adds, as ML.NET's own trainers emit them (the parity test compares them with
/// SdcaMaximumEntropy, SdcaLogisticRegression, LbfgsLogisticRegression and Sdca column by column and annotation by annotation): multiclass
/// key-typed <c>PredictedLabel</c> carrying the label's key values, then <c>Score</c> (softmax probabilities,
/// known-size float vector, with the training label values); binary Boolean <c>PredictedLabel</c>, <c>Score</c>
/// (logit) and <c>Probability</c>; regression <c>Score</c>. Every added column carries <c>ScoreColumnSetId</c>.
/// </summary>
/// <remarks>
/// ML.NET's scorers put the predicted label before the score columns in the data they make, while its estimators'
/// <c>GetOutputSchema</c> lists the score columns first; <see cref="Names"/> is the data's order and
/// <see cref="ShapeNames"/> the estimator's, so both match ML.NET's.
/// </remarks>
internal sealed class OutputColumns
{
    /// <summary>ML.NET's binary trainers always name the calibrated column this; its evaluator looks for it.</summary>
    public const string ProbabilityColumnName = "Probability";

    public OutputColumns(SequenceTask task, string scoreColumnName, string predictedLabelColumnName, int classCount, LabelKeyValues? keyValues)
    {
        Task = task;
        ScoreColumnName = scoreColumnName;
        PredictedLabelColumnName = predictedLabelColumnName;
        ClassCount = classCount;
        KeyValues = keyValues;
    }

    public SequenceTask Task { get; }
    public string ScoreColumnName { get; }
    public string PredictedLabelColumnName { get; }
    public int ClassCount { get; }
    public LabelKeyValues? KeyValues { get; }

    /// <summary>The number of model outputs per row: one per class, or one.</summary>
    public int ModelOutputSize => Task == SequenceTask.MulticlassClassification ? ClassCount : 1;

    /// <summary>The added columns' names in the order they follow the input's columns in the scored data.</summary>
    public IReadOnlyList<string> Names => Task switch
    {
        SequenceTask.MulticlassClassification => [PredictedLabelColumnName, ScoreColumnName],
        SequenceTask.BinaryClassification => [PredictedLabelColumnName, ScoreColumnName, ProbabilityColumnName],
        _ => [ScoreColumnName],
    };

    /// <summary>The added columns' names in the order ML.NET's estimators list them in their <see cref="SchemaShape"/>.</summary>
    public IReadOnlyList<string> ShapeNames => Task switch
    {
        SequenceTask.MulticlassClassification => [ScoreColumnName, PredictedLabelColumnName],
        SequenceTask.BinaryClassification => [ScoreColumnName, ProbabilityColumnName, PredictedLabelColumnName],
        _ => [ScoreColumnName],
    };

    private string ScoreKind => Task.ToString();

    /// <summary>The scored schema of a layout made by <see cref="Layout"/>: the input's columns and the added ones, placed as ML.NET places them.</summary>
    public DataViewSchema Append(ScoredLayout layout)
    {
        var added = Describe(ScoreColumnSets.Next(layout.Input)).ToList();
        var builder = new DataViewSchema.Builder();
        foreach (int source in layout.Sources)
        {
            if (source >= 0) builder.AddColumn(layout.Input[source].Name, layout.Input[source].Type, layout.Input[source].Annotations);
            else builder.AddColumn(added[~source].Name, added[~source].Type, added[~source].Annotations);
        }
        return builder.ToSchema();
    }

    /// <summary>Where each column of <paramref name="input"/> scored by this model comes from.</summary>
    public ScoredLayout Layout(DataViewSchema input) => new(input, Names);

    /// <summary>
    /// The added columns alone, in <see cref="ShapeNames"/> order, as a schema (used to build the estimator's
    /// <see cref="SchemaShape"/>, which holds annotation types, not values).
    /// </summary>
    public DataViewSchema ShapeSchema()
    {
        var columns = Describe(ScoreColumnSets.First).ToDictionary(c => c.Name);
        var builder = new DataViewSchema.Builder();
        foreach (var name in ShapeNames)
            builder.AddColumn(name, columns[name].Type, columns[name].Annotations);
        return builder.ToSchema();
    }

    /// <summary>
    /// Makes the getter of added column <paramref name="index"/> (an index into <see cref="Names"/>) over the current
    /// row's model output, which <paramref name="current"/> returns (softmax probabilities, or the one raw output).
    /// </summary>
    public Delegate MakeGetter(int index, Func<ArraySegment<float>> current) => (Task, index) switch
    {
        (SequenceTask.MulticlassClassification, 0) => (ValueGetter<uint>)((ref uint value) => value = ArgMax(current()) + 1),
        (SequenceTask.MulticlassClassification, 1) => (ValueGetter<VBuffer<float>>)((ref VBuffer<float> value) =>
        {
            // Into the caller's buffer when it is large enough: no array per row.
            var editor = VBufferEditor.Create(ref value, ClassCount);
            current().AsSpan().CopyTo(editor.Values);
            value = editor.Commit();
        }),
        (SequenceTask.BinaryClassification, 0) => (ValueGetter<bool>)((ref bool value) => value = current()[0] > 0),
        (SequenceTask.BinaryClassification, 1) => (ValueGetter<float>)((ref float value) => value = current()[0]),
        (SequenceTask.BinaryClassification, 2) => (ValueGetter<float>)((ref float value) => value = Sigmoid(current()[0])),
        (SequenceTask.Regression, 0) => (ValueGetter<float>)((ref float value) => value = current()[0]),
        _ => throw new ArgumentOutOfRangeException(nameof(index), index, $"{Task} adds {Names.Count} columns."),
    };

    /// <summary>Throws unless the added columns' names differ from each other.</summary>
    /// <exception cref="ArgumentOutOfRangeException">Two names are equal; the parameter name is the option that repeats one.</exception>
    public void CheckDistinctNames()
    {
        var repeated = Names.GroupBy(n => n).FirstOrDefault(g => g.Count() > 1)?.Key;
        if (repeated is null) return;
        string option = repeated == ScoreColumnName ? "ScoreColumnName" : "PredictionColumnName";
        throw new ArgumentOutOfRangeException(option, repeated,
            $"The output columns of {Task} must have distinct names, but '{repeated}' is used twice among {string.Join(", ", Names)}.");
    }

    private static float Sigmoid(float x) => 1f / (1f + MathF.Exp(-x));

    private static uint ArgMax(ArraySegment<float> values)
    {
        int best = 0;
        for (int i = 1; i < values.Count; i++)
            if (values[i] > values[best]) best = i;
        return (uint)best;
    }

    /// <summary>The added columns in <see cref="Names"/> order, each with the annotations ML.NET's scorer gives it.</summary>
    private IEnumerable<(string Name, DataViewType Type, DataViewSchema.Annotations Annotations)> Describe(uint scoreColumnSetId)
    {
        switch (Task)
        {
            case SequenceTask.MulticlassClassification:
                var labelAnnotations = ScoreAnnotations("PredictedLabel", scoreColumnSetId);
                KeyValues?.AddTo(labelAnnotations);
                yield return (PredictedLabelColumnName, new KeyDataViewType(typeof(uint), ClassCount), labelAnnotations.ToAnnotations());
                var scoreAnnotations = ScoreAnnotations("Score", scoreColumnSetId);
                KeyValues?.AddTo(scoreAnnotations, AnnotationUtilsKinds.TrainingLabelValues);
                if (KeyValues is { ItemType: TextDataViewType }) KeyValues.AddTo(scoreAnnotations, AnnotationUtilsKinds.SlotNames);
                yield return (ScoreColumnName, new VectorDataViewType(NumberDataViewType.Single, ClassCount), scoreAnnotations.ToAnnotations());
                break;
            case SequenceTask.BinaryClassification:
                yield return (PredictedLabelColumnName, BooleanDataViewType.Instance, ScoreAnnotations("PredictedLabel", scoreColumnSetId).ToAnnotations());
                yield return (ScoreColumnName, NumberDataViewType.Single, ScoreAnnotations("Score", scoreColumnSetId).ToAnnotations());
                var probability = ScoreAnnotations("Probability", scoreColumnSetId);
                probability.Add(AnnotationUtilsKinds.IsNormalized, BooleanDataViewType.Instance, (ref bool value) => value = true);
                yield return (ProbabilityColumnName, NumberDataViewType.Single, probability.ToAnnotations());
                break;
            default:
                yield return (ScoreColumnName, NumberDataViewType.Single, ScoreAnnotations("Score", scoreColumnSetId).ToAnnotations());
                break;
        }
    }

    private DataViewSchema.Annotations.Builder ScoreAnnotations(string valueKind, uint scoreColumnSetId)
    {
        var builder = new DataViewSchema.Annotations.Builder();
        builder.Add(AnnotationUtilsKinds.ScoreColumnKind, TextDataViewType.Instance, (ref ReadOnlyMemory<char> value) => value = ScoreKind.AsMemory());
        builder.Add(AnnotationUtilsKinds.ScoreValueKind, TextDataViewType.Instance, (ref ReadOnlyMemory<char> value) => value = valueKind.AsMemory());
        builder.Add(AnnotationUtilsKinds.ScoreColumnSetId, ScoreColumnSets.IdType, (ref uint value) => value = scoreColumnSetId);
        return builder;
    }
}
