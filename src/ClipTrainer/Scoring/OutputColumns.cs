using ClipTrainer.Data;
using Microsoft.ML;
using Microsoft.ML.Data;

namespace ClipTrainer.Scoring;

/// <summary>
/// The columns a fitted sequence model adds, as ML.NET's own trainers emit them: multiclass <c>Score</c> (softmax
/// probabilities, known-size float vector) and key-typed <c>PredictedLabel</c> carrying the label's key values; binary
/// <c>Score</c> (logit), <c>Probability</c> and Boolean <c>PredictedLabel</c>; regression <c>Score</c>.
/// </summary>
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

    /// <summary>The added columns' names in order.</summary>
    public IReadOnlyList<string> Names => Task switch
    {
        SequenceTask.MulticlassClassification => [ScoreColumnName, PredictedLabelColumnName],
        SequenceTask.BinaryClassification => [ScoreColumnName, ProbabilityColumnName, PredictedLabelColumnName],
        _ => [ScoreColumnName],
    };

    private string ScoreKind => Task.ToString();

    /// <summary>The input schema followed by the added columns (an added column hides an input column of the same name).</summary>
    public DataViewSchema Append(DataViewSchema input)
    {
        var builder = new DataViewSchema.Builder();
        builder.AddColumns(input);
        foreach (var (name, type, annotations) in Describe())
            builder.AddColumn(name, type, annotations);
        return builder.ToSchema();
    }

    /// <summary>The added columns alone, as a schema (used to build the estimator's <see cref="SchemaShape"/>).</summary>
    public DataViewSchema Schema() => Append(new DataViewSchema.Builder().ToSchema());

    /// <summary>
    /// Makes the getter of added column <paramref name="index"/> (an index into <see cref="Names"/>) over the current
    /// row's model output, which <paramref name="current"/> returns (softmax probabilities, or the one raw output).
    /// </summary>
    public Delegate MakeGetter(int index, Func<float[]> current) => (Task, index) switch
    {
        (SequenceTask.MulticlassClassification, 0) =>
            (ValueGetter<VBuffer<float>>)((ref VBuffer<float> value) => new VBuffer<float>(ClassCount, current()).CopyTo(ref value)),
        (SequenceTask.MulticlassClassification, 1) => (ValueGetter<uint>)((ref uint value) => value = ArgMax(current()) + 1),
        (SequenceTask.BinaryClassification, 1) => (ValueGetter<float>)((ref float value) => value = Sigmoid(current()[0])),
        (SequenceTask.BinaryClassification, 2) => (ValueGetter<bool>)((ref bool value) => value = current()[0] > 0),
        (_, 0) => (ValueGetter<float>)((ref float value) => value = current()[0]),
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

    private static uint ArgMax(float[] values)
    {
        int best = 0;
        for (int i = 1; i < values.Length; i++)
            if (values[i] > values[best]) best = i;
        return (uint)best;
    }

    private IEnumerable<(string Name, DataViewType Type, DataViewSchema.Annotations Annotations)> Describe()
    {
        switch (Task)
        {
            case SequenceTask.MulticlassClassification:
                var scoreAnnotations = ScoreAnnotations("Score");
                if (KeyValues is { ItemType: TextDataViewType }) KeyValues.AddTo(scoreAnnotations, AnnotationUtilsKinds.SlotNames);
                yield return (ScoreColumnName, new VectorDataViewType(NumberDataViewType.Single, ClassCount), scoreAnnotations.ToAnnotations());
                var labelAnnotations = ScoreAnnotations("PredictedLabel");
                KeyValues?.AddTo(labelAnnotations);
                yield return (PredictedLabelColumnName, new KeyDataViewType(typeof(uint), ClassCount), labelAnnotations.ToAnnotations());
                break;
            case SequenceTask.BinaryClassification:
                yield return (ScoreColumnName, NumberDataViewType.Single, ScoreAnnotations("Score").ToAnnotations());
                var probability = ScoreAnnotations("Probability");
                probability.Add(AnnotationUtilsKinds.IsNormalized, BooleanDataViewType.Instance, (ref bool value) => value = true);
                yield return (ProbabilityColumnName, NumberDataViewType.Single, probability.ToAnnotations());
                yield return (PredictedLabelColumnName, BooleanDataViewType.Instance, ScoreAnnotations("PredictedLabel").ToAnnotations());
                break;
            default:
                yield return (ScoreColumnName, NumberDataViewType.Single, ScoreAnnotations("Score").ToAnnotations());
                break;
        }
    }

    private DataViewSchema.Annotations.Builder ScoreAnnotations(string valueKind)
    {
        var builder = new DataViewSchema.Annotations.Builder();
        builder.Add(AnnotationUtilsKinds.ScoreColumnKind, TextDataViewType.Instance, (ref ReadOnlyMemory<char> value) => value = ScoreKind.AsMemory());
        builder.Add(AnnotationUtilsKinds.ScoreValueKind, TextDataViewType.Instance, (ref ReadOnlyMemory<char> value) => value = valueKind.AsMemory());
        return builder;
    }
}
