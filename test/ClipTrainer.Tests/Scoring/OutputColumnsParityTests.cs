using System.Globalization;
using System.Reflection;
using ClipTrainer.Persistence;
using Microsoft.ML;
using Microsoft.ML.Data;
using Xunit;
using static ClipTrainer.Tests.SequenceTestData;

namespace ClipTrainer.Tests.Scoring;

/// <summary>
/// The README's claim "output columns as ML.NET's own trainers make them", checked against a stock ML.NET trainer of
/// the same task on the same data (multiclass: SdcaMaximumEntropy; binary: SdcaLogisticRegression and
/// LbfgsLogisticRegression, both calibrated; regression: Sdca). Both output schemas are compared column by column
/// (index, name, type, hidden) and, per column, annotation by annotation (name, type, value); the expected side is
/// always ML.NET's. Annotations are compared as sets sorted by name: ML.NET looks them up by name, and its own
/// scorers do not keep one order. The same holds for the estimators' schema shapes, in the shapes' column order.
/// </summary>
[Collection(TorchSharpTrainingCollection.Name)]
public sealed class OutputColumnsParityTests : IDisposable
{
    private readonly string _directory = Directory.CreateTempSubdirectory("cliptrainer-parity-").FullName;

    public void Dispose() => Directory.Delete(_directory, recursive: true);

    /// <summary>The cases: a task, a label kind and the stock trainer to compare with.</summary>
    public static TheoryData<string> Cases => new()
    {
        "multiclass-text", "multiclass-single", "multiclass-key-without-values", "binary-sdca", "binary-lbfgs", "regression",
    };

    [Theory]
    [MemberData(nameof(Cases))]
    public void Transform_OutputSchema_EqualsStockTrainers(string name)
    {
        var (ours, stock, data) = Fit(name);

        AssertSameSchema(stock.Transform(data).Schema, ours.Transform(data).Schema);
    }

    [Theory]
    [MemberData(nameof(Cases))]
    public void RowToRowMapper_OutputSchema_EqualsStockTrainers(string name)
    {
        // PredictionEngine scores through this mapper.
        var (ours, stock, data) = Fit(name);

        AssertSameSchema(stock.GetRowToRowMapper(data.Schema).OutputSchema, ours.GetRowToRowMapper(data.Schema).OutputSchema);
    }

    [Theory]
    [MemberData(nameof(Cases))]
    public void ArchiveRoundTrip_OutputSchemas_EqualStockTrainers(string name)
    {
        var (ours, stock, data) = Fit(name);
        var mlContext = new MLContext(seed: 1);
        string path = Path.Combine(_directory, name + ".zip");

        SequencePipelineArchive.Save(mlContext, ours, data.Schema, path);
        ITransformer loaded = SequencePipelineArchive.Load(new MLContext(), path, out var inputSchema);

        AssertSameSchema(stock.Transform(data).Schema, loaded.Transform(data).Schema);
        AssertSameSchema(stock.GetRowToRowMapper(inputSchema).OutputSchema, loaded.GetRowToRowMapper(inputSchema).OutputSchema);
        (loaded as IDisposable)?.Dispose();
    }

    [Theory]
    [MemberData(nameof(Cases))]
    public void Transform_ScoredTwiceOrAfterAStockScorer_NumbersScoreColumnSetsAsMlNet(string name)
    {
        // The second scorer's columns hide the first's and get ScoreColumnSetId 2, whichever scorer came first.
        var (ours, stock, data) = Fit(name);
        var (ourScorer, stockScorer) = (Last(ours), Last(stock)); // without the MapValueToKey before them
        var stockTwice = stockScorer.Transform(stock.Transform(data)).Schema;

        AssertSameSchema(stockTwice, ourScorer.Transform(ours.Transform(data)).Schema);
        AssertSameSchema(stockTwice, ourScorer.Transform(stock.Transform(data)).Schema);
        AssertSameSchema(stockTwice, stockScorer.Transform(ours.Transform(data)).Schema);
    }

    [Theory]
    [MemberData(nameof(Cases))]
    public void GetOutputSchema_Estimator_EqualsStockEstimators(string name)
    {
        var mlContext = new MLContext(seed: 1);
        var (ourTrainer, stockTrainer, shape) = name switch
        {
            "multiclass-text" => Case(OurMulticlass(mlContext), StockMulticlass(mlContext), ShapeOf<MulticlassRow>(mlContext)),
            "multiclass-single" => Case(OurMulticlass(mlContext), StockMulticlass(mlContext), ShapeOf<NumericClassRow>(mlContext)),
            "multiclass-key-without-values" => Case(OurMulticlass(mlContext), StockMulticlass(mlContext), ShapeOf<KeyLabelRow>(mlContext)),
            "binary-sdca" => Case(OurBinary(mlContext), mlContext.BinaryClassification.Trainers.SdcaLogisticRegression(), ShapeOf<BinaryRow>(mlContext)),
            "binary-lbfgs" => Case(OurBinary(mlContext), mlContext.BinaryClassification.Trainers.LbfgsLogisticRegression(), ShapeOf<BinaryRow>(mlContext)),
            "regression" => Case(mlContext.Regression.Trainers.ClipTrainer(Options()), mlContext.Regression.Trainers.Sdca(), ShapeOf<RegressionRow>(mlContext)),
            _ => throw new ArgumentOutOfRangeException(nameof(name), name, "Unknown case."),
        };
        bool keyed = name is "multiclass-text" or "multiclass-single";
        var (ours, stock) = keyed
            ? (Keyed(mlContext, "Label").Append(ourTrainer), Keyed(mlContext, "Label").Append(stockTrainer))
            : (ourTrainer, stockTrainer);

        var stockShape = stock.GetOutputSchema(shape);

        Assert.Equal(Describe(stockShape), Describe(ours.GetOutputSchema(shape)));
        // On a shape that already has the output columns, they are replaced where they are, as ML.NET's trainers do.
        Assert.Equal(Describe(stockTrainer.GetOutputSchema(stockShape)), Describe(ourTrainer.GetOutputSchema(stockShape)));
    }

    [Fact]
    public void Transform_Multiclass_AddsPredictedLabelThenScore_WithTheTrainingLabelValuesOnBoth()
    {
        // Stated without a stock trainer, so a change on ML.NET's side cannot hide a change on ours.
        var (ours, _, data) = Fit("multiclass-text");
        var schema = ours.Transform(data).Schema;

        Assert.Equal(["Features", "Label", "Label", "PredictedLabel", "Score"], schema.Select(c => c.Name));
        // MapValueToKey numbers the labels in the order they first appear.
        string labels = string.Join(",", Multiclass(60, seed: 1).Select(r => r.Label).Distinct());
        Assert.Equal(labels, AnnotationValue(schema["Score"], "TrainingLabelValues"));
        Assert.Equal(labels, AnnotationValue(schema["PredictedLabel"], "KeyValues"));
        Assert.All(new[] { "PredictedLabel", "Score" }, c => Assert.Equal("1", AnnotationValue(schema[c], "ScoreColumnSetId")));
        Assert.Equal(new KeyDataViewType(typeof(uint), int.MaxValue), schema["Score"].Annotations.Schema["ScoreColumnSetId"].Type);
    }

    [Fact]
    public void Transform_ScoredTwice_VisibleColumnsHoldTheScoresOfOneScoring()
    {
        // The second scoring's columns sit between the input's (after the columns they hide): their values must still
        // be the model's, and the hidden ones the first scoring's.
        var (ours, _, data) = Fit("binary-sdca");
        var once = ours.Transform(data);
        var twice = Last(ours).Transform(once);

        Assert.Equal(Column<float>(once, "Probability"), Column<float>(twice, "Probability"));
        Assert.Equal(Column<bool>(once, "PredictedLabel"), Column<bool>(twice, "PredictedLabel"));
        var hiddenScore = twice.Schema.First(c => c.Name == "Score" && c.IsHidden);
        using var cursor = twice.GetRowCursor([hiddenScore, twice.Schema["Score"]]);
        var (hidden, visible) = (cursor.GetGetter<float>(hiddenScore), cursor.GetGetter<float>(twice.Schema["Score"]));
        var expected = Column<float>(once, "Score");
        int row = 0;
        for (; cursor.MoveNext(); row++)
        {
            float hiddenValue = 0, visibleValue = 0;
            hidden(ref hiddenValue);
            visible(ref visibleValue);
            Assert.Equal(expected[row], hiddenValue);
            Assert.Equal(expected[row], visibleValue);
        }
        Assert.Equal(expected.Count, row);
    }

    // ---- Fitting both sides on the same data ---------------------------------------------------------------------

    private static SequenceTrainerOptions Options()
    {
        var options = SmallOptions(maximumNumberOfEpochs: 1);
        options.HiddenSize = 4;
        return options;
    }

    private static SequenceTrainer OurMulticlass(MLContext mlContext) => mlContext.MulticlassClassification.Trainers.ClipTrainer(Options());

    private static SequenceTrainer OurBinary(MLContext mlContext) => mlContext.BinaryClassification.Trainers.ClipTrainer(Options());

    private static IEstimator<ITransformer> StockMulticlass(MLContext mlContext) =>
        mlContext.MulticlassClassification.Trainers.SdcaMaximumEntropy(maximumNumberOfIterations: 2);

    private static KeyedTrainer Keyed(MLContext mlContext, string column) => new(mlContext, column);

    private static IEstimator<ITransformer> Chain(IEstimator<ITransformer> estimator) => estimator;

    private static (IEstimator<ITransformer>, IEstimator<ITransformer>, T) Case<T>(IEstimator<ITransformer> ours, IEstimator<ITransformer> stock, T input) =>
        (ours, stock, input);

    /// <summary>MapValueToKey on the label, then a trainer.</summary>
    private sealed record KeyedTrainer(MLContext MLContext, string Column)
    {
        public IEstimator<ITransformer> Append(IEstimator<ITransformer> trainer) =>
            MLContext.Transforms.Conversion.MapValueToKey(Column).Append(trainer);
    }

    /// <summary>Both pipelines of a case, fitted on the same 60 rows, and those rows.</summary>
    private static (ITransformer Ours, ITransformer Stock, IDataView Data) Fit(string name)
    {
        var mlContext = new MLContext(seed: 1);
        var (ours, stock, data) = name switch
        {
            "multiclass-text" => Case(Keyed(mlContext, "Label").Append(OurMulticlass(mlContext)), Keyed(mlContext, "Label").Append(StockMulticlass(mlContext)),
                Load(mlContext, Multiclass(60, seed: 1))),
            "multiclass-single" => Case(Keyed(mlContext, "Label").Append(OurMulticlass(mlContext)), Keyed(mlContext, "Label").Append(StockMulticlass(mlContext)),
                Load(mlContext, Multiclass(60, seed: 1).Select(r => new NumericClassRow { Features = r.Features, Label = 10f * (1 + Array.IndexOf(ClassNames, r.Label)) }))),
            "multiclass-key-without-values" => Case(Chain(OurMulticlass(mlContext)), Chain(StockMulticlass(mlContext)),
                Load(mlContext, Multiclass(60, seed: 1).Select(r => new KeyLabelRow { Features = r.Features, Label = (uint)Array.IndexOf(ClassNames, r.Label) }))),
            "binary-sdca" => Case(Chain(OurBinary(mlContext)), Chain(mlContext.BinaryClassification.Trainers.SdcaLogisticRegression(maximumNumberOfIterations: 2)),
                Load(mlContext, Binary(60, seed: 1))),
            "binary-lbfgs" => Case(Chain(OurBinary(mlContext)), Chain(mlContext.BinaryClassification.Trainers.LbfgsLogisticRegression()),
                Load(mlContext, Binary(60, seed: 1))),
            "regression" => Case(Chain(mlContext.Regression.Trainers.ClipTrainer(Options())), Chain(mlContext.Regression.Trainers.Sdca(maximumNumberOfIterations: 2)),
                Load(mlContext, Regression(60, seed: 1))),
            _ => throw new ArgumentOutOfRangeException(nameof(name), name, "Unknown case."),
        };
        return (ours.Fit(data), stock.Fit(data), data);
    }

    private static ITransformer Last(ITransformer model) => model is IEnumerable<ITransformer> chain ? chain.Last() : model;

    // ---- Comparing ---------------------------------------------------------------------------------------------

    /// <summary>Asserts equal schemas; each line names one column, so a failure shows where they part.</summary>
    private static void AssertSameSchema(DataViewSchema expected, DataViewSchema actual) =>
        Assert.Equal(Describe(expected), Describe(actual));

    private static List<string> Describe(DataViewSchema schema) => schema
        .Select(c => $"[{c.Index}] {c.Name}: {c.Type} ({c.Type.GetType().Name}){(c.IsHidden ? " hidden" : "")} {{ "
            + string.Join("; ", c.Annotations.Schema.OrderBy(a => a.Name, StringComparer.Ordinal)
                .Select(a => $"{a.Name}: {a.Type} ({a.Type.GetType().Name}) = {AnnotationValue(c, a.Name)}"))
            + " }")
        .ToList();

    private static List<string> Describe(SchemaShape shape) => shape
        .Select(c => $"{c.Name}: {Describe(c)} {{ "
            + string.Join("; ", c.Annotations.OrderBy(a => a.Name, StringComparer.Ordinal).Select(a => $"{a.Name}: {Describe(a)}"))
            + " }")
        .ToList();

    private static string Describe(SchemaShape.Column column) => $"{column.Kind} {column.ItemType}{(column.IsKey ? " key" : "")}";

    /// <summary>An annotation's value as invariant text; vectors as their values joined by commas.</summary>
    private static string AnnotationValue(DataViewSchema.Column column, string kind)
    {
        var type = column.Annotations.Schema[kind].Type;
        var itemType = (type as VectorDataViewType)?.ItemType ?? type;
        string method = type is VectorDataViewType ? nameof(VectorValue) : nameof(ScalarValue);
        return (string)typeof(OutputColumnsParityTests).GetMethod(method, BindingFlags.NonPublic | BindingFlags.Static)!
            .MakeGenericMethod(itemType.RawType).Invoke(null, [column.Annotations, kind])!;
    }

    private static string ScalarValue<T>(DataViewSchema.Annotations annotations, string kind)
    {
        T value = default!;
        annotations.GetValue(kind, ref value);
        return Text(value);
    }

    private static string VectorValue<T>(DataViewSchema.Annotations annotations, string kind)
    {
        VBuffer<T> value = default;
        annotations.GetValue(kind, ref value);
        return string.Join(",", value.DenseValues().Select(v => Text(v)));
    }

    private static string Text<T>(T value) => Convert.ToString(value is ReadOnlyMemory<char> text ? text.ToString() : value, CultureInfo.InvariantCulture) ?? "";
}
