using ClipTrainer.Persistence;
using ClipTrainer.Training;
using Microsoft.ML;
using Microsoft.ML.Data;
using Xunit;
using static ClipTrainer.Tests.SequenceTestData;

namespace ClipTrainer.Tests.Scoring;

/// <summary>
/// The label's key values carried to the predicted label: small integer labels map back to themselves (also after a
/// save and load), and key values of a type the predicted label cannot carry are rejected before any training.
/// </summary>
[Collection(TorchSharpTrainingCollection.Name)]
public sealed class LabelKeyValuesTests : IDisposable
{
    /// <summary>The Int16 label of each class of the multiclass task, in <see cref="ClassNames"/> order.</summary>
    private static readonly short[] ShortLabels = [-7, 300, 12000];

    private readonly string _directory = Directory.CreateTempSubdirectory("cliptrainer-key-values-tests-").FullName;

    public void Dispose() => Directory.Delete(_directory, recursive: true);

    [Fact]
    public void MulticlassPipeline_Int16Labels_LearnsAndMapsPredictionsBackToTheOriginalShorts()
    {
        var mlContext = new MLContext(seed: 1);
        var test = ShortRows(Multiclass(200, seed: 2));
        var pipeline = mlContext.Transforms.Conversion.MapValueToKey("Label")
            .Append(mlContext.MulticlassClassification.Trainers.ClipTrainer(SmallOptions()))
            .Append(mlContext.Transforms.Conversion.MapKeyToValue("PredictedLabel"));

        var model = pipeline.Fit(mlContext.Data.LoadFromEnumerable(ShortRows(Multiclass(300, seed: 1))));
        var scored = model.Transform(mlContext.Data.LoadFromEnumerable(test));
        var metrics = mlContext.MulticlassClassification.Evaluate(scored);

        Assert.Equal(NumberDataViewType.Int16, scored.Schema["PredictedLabel"].Type);
        var predicted = Column<short>(scored, "PredictedLabel");
        Assert.All(predicted, p => Assert.Contains(p, ShortLabels));
        Assert.True(metrics.MicroAccuracy > 0.75, $"MicroAccuracy {metrics.MicroAccuracy}");
        double agreement = predicted.Zip(test, (p, row) => p == row.Label ? 1.0 : 0.0).Average();
        Assert.Equal(metrics.MicroAccuracy, agreement, 9);
        var engine = mlContext.Model.CreatePredictionEngine<ShortLabelRow, ShortLabelPrediction>(model);
        Assert.All(Enumerable.Range(0, 10), i => Assert.Equal(predicted[i], engine.Predict(test[i]).PredictedLabel));

        string path = Path.Combine(_directory, "int16.zip");
        SequencePipelineArchive.Save(mlContext, model, mlContext.Data.LoadFromEnumerable(test).Schema, path);
        var freshContext = new MLContext(seed: 2);
        var loaded = SequencePipelineArchive.Load(freshContext, path, out _);
        var reloaded = loaded.Transform(freshContext.Data.LoadFromEnumerable(test));
        Assert.Equal(NumberDataViewType.Int16, reloaded.Schema["PredictedLabel"].Type);
        Assert.Equal(predicted, Column<short>(reloaded, "PredictedLabel"));
    }

    [Fact]
    public void GetOutputSchema_KeyValuesOfUnsupportedType_ThrowsArgumentOutOfRangeNamingTheLabel()
    {
        var mlContext = new MLContext(seed: 1);
        var keyed = mlContext.Transforms.Conversion.MapValueToKey("Label").GetOutputSchema(ShapeOf<DateLabelRow>(mlContext));
        var trainer = mlContext.MulticlassClassification.Trainers.ClipTrainer(SmallOptions());

        var exception = Assert.Throws<ArgumentOutOfRangeException>(() => trainer.GetOutputSchema(keyed));

        Assert.Equal("Label", exception.ParamName);
        Assert.Contains("label column 'Label'", exception.Message);
        Assert.Contains("DateTime", exception.Message);
    }

    [Fact]
    public void Fit_KeyValuesOfUnsupportedType_ThrowsArgumentOutOfRangeBeforeAnyTraining()
    {
        var mlContext = new MLContext(seed: 1);
        var rows = Multiclass(200, seed: 1)
            .Select(r => new DateLabelRow { Features = r.Features, Label = new DateTime(2024, 1, 1 + Array.IndexOf(ClassNames, r.Label)) });
        var data = mlContext.Data.LoadFromEnumerable(rows);
        var keyed = mlContext.Transforms.Conversion.MapValueToKey("Label").Fit(data).Transform(data);
        var epochs = new List<EpochRecord>();
        var steps = new List<TrainingStepRecord>();
        var options = SmallOptions();
        options.StepReportInterval = 1;
        options.EpochProgress = new Recorder<EpochRecord>(epochs);
        options.StepProgress = new Recorder<TrainingStepRecord>(steps);
        var trainer = mlContext.MulticlassClassification.Trainers.ClipTrainer(options);

        var exception = Assert.Throws<ArgumentOutOfRangeException>(() => trainer.Fit(keyed));

        Assert.Equal("Label", exception.ParamName);
        Assert.Contains("label column 'Label'", exception.Message);
        Assert.Contains("DateTime", exception.Message);
        Assert.Empty(steps);
        Assert.Empty(epochs);
    }

    private static List<ShortLabelRow> ShortRows(IEnumerable<MulticlassRow> rows) =>
        rows.Select(r => new ShortLabelRow { Features = r.Features, Label = ShortLabels[Array.IndexOf(ClassNames, r.Label)] }).ToList();

    private sealed class Recorder<T>(List<T> records) : IProgress<T>
    {
        public void Report(T value) => records.Add(value);
    }

    public sealed class ShortLabelRow
    {
        [VectorType(VectorSize)]
        public float[] Features { get; set; } = [];

        public short Label { get; set; }
    }

    public sealed class ShortLabelPrediction
    {
        public short PredictedLabel { get; set; }
    }

    public sealed class DateLabelRow
    {
        [VectorType(VectorSize)]
        public float[] Features { get; set; } = [];

        public DateTime Label { get; set; }
    }
}
