using System.IO.Compression;
using System.Text;
using System.Text.Json.Nodes;
using ClipTrainer.Clipping;
using ClipTrainer.Persistence;
using Microsoft.ML;
using Microsoft.ML.Data;
using Xunit;
using static ClipTrainer.Tests.SequenceTestData;

namespace ClipTrainer.Tests.Persistence;

/// <summary>
/// Saving and loading whole fitted pipelines: identical predictions in a fresh MLContext, what a save leaves on disk,
/// and ML.NET's own Model.Save pointing at the archive.
/// </summary>
[Collection(TorchSharpTrainingCollection.Name)]
public sealed class SequencePipelineArchiveTests : ArchiveTestBase
{
    [Fact]
    public void SaveThenLoad_MulticlassPipelineInFreshContext_GivesBitIdenticalPredictions()
    {
        var mlContext = new MLContext(seed: 1);
        var model = FitMulticlassPipeline(mlContext, SmallOptions(maximumNumberOfEpochs: 3));
        var test = Multiclass(300, seed: 2);
        var trainSchema = Load(mlContext, Multiclass(1, seed: 1)).Schema;
        string path = PathOf("multiclass.zip");

        SequencePipelineArchive.Save(mlContext, model, trainSchema, path);
        var freshContext = new MLContext(seed: 99);
        var loaded = SequencePipelineArchive.Load(freshContext, path, out var loadedSchema);

        var before = model.Transform(Load(mlContext, test));
        var after = loaded.Transform(Load(freshContext, test));
        Assert.Equal(VectorColumn(before, "Score"), VectorColumn(after, "Score")); // exact float equality
        Assert.Equal(Column<ReadOnlyMemory<char>>(before, "Answer").Select(v => v.ToString()),
            Column<ReadOnlyMemory<char>>(after, "Answer").Select(v => v.ToString()));
        Assert.Equal(trainSchema.Select(c => (c.Name, c.Type)), loadedSchema.Select(c => (c.Name, c.Type)));
        Assert.Single(loaded.OfType<SequenceTransformer>());

        var engineBefore = mlContext.Model.CreatePredictionEngine<MulticlassRow, MulticlassPrediction>(model);
        var engineAfter = freshContext.Model.CreatePredictionEngine<MulticlassRow, MulticlassPrediction>(loaded);
        foreach (var row in test.Take(20))
        {
            var expected = engineBefore.Predict(row);
            var actual = engineAfter.Predict(row);
            Assert.Equal(expected.Score, actual.Score);
            Assert.Equal(expected.PredictedLabel, actual.PredictedLabel);
        }
    }

    [Fact]
    public void SaveThenLoad_BinaryTransformerAlone_GivesBitIdenticalPredictionsAndKeepsHistory()
    {
        var mlContext = new MLContext(seed: 1);
        var options = SmallOptions(maximumNumberOfEpochs: 3);
        options.ScoreColumnName = "Margin";
        var model = mlContext.BinaryClassification.Trainers.ClipTrainer(options).Fit(Load(mlContext, Binary(200, seed: 1)));
        var test = Load(mlContext, Binary(100, seed: 2));
        string path = PathOf("binary.zip");

        SequencePipelineArchive.Save(mlContext, model, test.Schema, path);
        var freshContext = new MLContext(seed: 2);
        var loaded = SequencePipelineArchive.Load(freshContext, path, out _);

        var before = model.Transform(test);
        var after = loaded.Transform(Load(freshContext, Binary(100, seed: 2)));
        Assert.Equal(Column<float>(before, "Margin"), Column<float>(after, "Margin"));
        Assert.Equal(Column<float>(before, "Probability"), Column<float>(after, "Probability"));
        Assert.Equal(Column<bool>(before, "PredictedLabel"), Column<bool>(after, "PredictedLabel"));
        var restored = Assert.IsType<SequenceTransformer>(Assert.Single(loaded));
        Assert.Equal(model.History.Epochs.Select(e => e.TrainingLoss), restored.History.Epochs.Select(e => e.TrainingLoss));
        Assert.Equal(model.History.Epochs.Select(e => e.ClippedFraction), restored.History.Epochs.Select(e => e.ClippedFraction));
        Assert.Equal(model.History.BestEpoch, restored.History.BestEpoch);
        Assert.Equal(model.History.Epochs.Select(e => e.GradientNormPercentile90), restored.History.Epochs.Select(e => e.GradientNormPercentile90));
        Assert.Equal(model.History.StageNames, restored.History.StageNames);
        Assert.NotEmpty(model.History.Steps);
        Assert.Empty(restored.History.Steps); // archives keep the epochs, not every step
        Assert.Equal(model.Model.Options!.HiddenSize, restored.Model.Options!.HiddenSize);
    }

    [Fact]
    public void SaveThenLoad_VariableLengthRegression_GivesBitIdenticalPredictions()
    {
        var mlContext = new MLContext(seed: 1);
        var options = SmallOptions(maximumNumberOfEpochs: 3);
        options.SequenceLength = null;
        options.CellType = ClipTrainer.Modeling.RecurrentCellType.Gru;
        options.Bidirectional = true;
        options.Pooling = ClipTrainer.Modeling.SequencePooling.Mean;
        var model = mlContext.Regression.Trainers.ClipTrainer(options).Fit(Load(mlContext, VariableRegression(150, seed: 1)));
        var test = VariableRegression(100, seed: 2);
        string path = PathOf("variable.zip");

        SequencePipelineArchive.Save(mlContext, model, Load(mlContext, test).Schema, path);
        var freshContext = new MLContext(seed: 3);
        var loaded = SequencePipelineArchive.Load(freshContext, path, out var schema);

        Assert.Equal(Column<float>(model.Transform(Load(mlContext, test)), "Score"), Column<float>(loaded.Transform(Load(freshContext, test)), "Score"));
        var engine = freshContext.Model.CreatePredictionEngine<VariableRegressionRow, RegressionPrediction>(loaded);
        var original = mlContext.Model.CreatePredictionEngine<VariableRegressionRow, RegressionPrediction>(model);
        Assert.All(test.Take(10), row => Assert.Equal(original.Predict(row).Score, engine.Predict(row).Score));
        Assert.False(((VectorDataViewType)schema["Features"].Type).IsKnownSize);
    }

    [Fact]
    public void SaveThenLoad_MulticlassWithSingleLabels_MapsBackToTheSameNumbers()
    {
        var mlContext = new MLContext(seed: 1);
        var rows = Multiclass(120, seed: 1)
            .Select(r => new NumericClassRow { Features = r.Features, Label = 0.5f + Array.IndexOf(ClassNames, r.Label) }).ToList();
        var data = mlContext.Data.LoadFromEnumerable(rows);
        var model = mlContext.Transforms.Conversion.MapValueToKey("Label")
            .Append(mlContext.MulticlassClassification.Trainers.ClipTrainer(SmallOptions(maximumNumberOfEpochs: 3)))
            .Append(mlContext.Transforms.Conversion.MapKeyToValue("PredictedLabel"))
            .Fit(data);
        string path = PathOf("numeric.zip");

        SequencePipelineArchive.Save(mlContext, model, data.Schema, path);
        var freshContext = new MLContext(seed: 5);
        var loaded = SequencePipelineArchive.Load(freshContext, path, out _);

        var before = Column<float>(model.Transform(data), "PredictedLabel");
        var after = Column<float>(loaded.Transform(freshContext.Data.LoadFromEnumerable(rows)), "PredictedLabel");
        Assert.Equal(before, after);
        Assert.All(after, v => Assert.Contains(v, new[] { 0.5f, 1.5f, 2.5f }));
    }

    [Fact]
    public void Save_ExistingFile_IsReplacedWithoutTemporaryLeftOver()
    {
        var mlContext = new MLContext(seed: 1);
        var model = mlContext.Regression.Trainers.ClipTrainer(SmallOptions(maximumNumberOfEpochs: 3)).Fit(Load(mlContext, Regression(40, seed: 1)));
        string path = PathOf("replace.zip");
        File.WriteAllText(path, "old content");

        SequencePipelineArchive.Save(mlContext, model, Load(mlContext, Regression(1, seed: 1)).Schema, path);

        Assert.Single(SequencePipelineArchive.Load(new MLContext(seed: 1), path, out _));
        Assert.Equal(["replace.zip"], Directory.GetFiles(TestDirectory).Select(Path.GetFileName));
    }

    [Fact]
    public void MlNetModelSave_ChainHoldingSequenceTransformer_FailsNamingTheArchiveSave()
    {
        var mlContext = new MLContext(seed: 1);
        var data = Load(mlContext, Multiclass(60, seed: 1));
        var options = SmallOptions(maximumNumberOfEpochs: 3);
        options.MaximumNumberOfEpochs = 1;
        var model = FitMulticlassPipeline(mlContext, options);

        var fromChain = Assert.Throws<NotSupportedException>(() => mlContext.Model.Save(model, data.Schema, PathOf("chain.zip")));
        var sequence = model.OfType<SequenceTransformer>().Single();
        var fromTransformer = Assert.Throws<NotSupportedException>(() => mlContext.Model.Save(sequence, data.Schema, PathOf("alone.zip")));

        Assert.Contains("SequencePipelineArchive.Save", fromChain.Message);
        Assert.Contains("SequencePipelineArchive.Load", fromChain.Message);
        Assert.Equal(fromChain.Message, fromTransformer.Message);
    }

    [Fact]
    public void SaveThenLoad_HistoryWithNaN_RoundTripsKeepingTheNaNs()
    {
        // The validation labels are all equal, so R² is 0/0 (NaN). JSON numbers cannot hold NaN.
        var mlContext = new MLContext(seed: 1);
        var training = Regression(40, seed: 1);
        var validation = Regression(20, seed: 2);
        validation.ForEach(r => r.Label = 1.5f);
        var options = SmallOptions(maximumNumberOfEpochs: 2);
        options.ValidationSet = Load(mlContext, validation);
        var model = mlContext.Regression.Trainers.ClipTrainer(options).Fit(Load(mlContext, training));
        var test = Regression(20, seed: 3);
        string path = PathOf("nan-history.zip");
        Assert.All(model.History.Epochs, e => Assert.True(double.IsNaN(e.ValidationMetric!.Value)));

        SequencePipelineArchive.Save(mlContext, model, Load(mlContext, test).Schema, path);
        var freshContext = new MLContext(seed: 2);
        var restored = Assert.IsType<SequenceTransformer>(Assert.Single(SequencePipelineArchive.Load(freshContext, path, out _)));

        Assert.Equal(model.History.Epochs, restored.History.Epochs); // record equality: NaN equals NaN
        Assert.All(restored.History.Epochs, e => Assert.True(double.IsNaN(e.ValidationMetric!.Value)));
        Assert.Equal(Column<float>(model.Transform(Load(mlContext, test)), "Score"), Column<float>(restored.Transform(Load(freshContext, test)), "Score"));
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void Save_TransformerMlNetCannotSave_ThrowsAndLeavesNoTemporaryNorPartialTarget(bool targetExisted)
    {
        // The sequence stage is written first, then ML.NET fails on a custom mapping without a contract name.
        var mlContext = new MLContext(seed: 1);
        var data = Load(mlContext, Regression(40, seed: 1));
        var sequence = mlContext.Regression.Trainers.ClipTrainer(SmallOptions(maximumNumberOfEpochs: 1)).Fit(data);
        var doubled = mlContext.Transforms.CustomMapping<ScoreInput, DoubledScore>((input, output) => output.Doubled = 2 * input.Score, contractName: null)
            .Fit(sequence.Transform(data));
        var model = new TransformerChain<ITransformer>(sequence, doubled);
        string path = PathOf("unsavable.zip");
        if (targetExisted) File.WriteAllText(path, "old content");

        var exception = Assert.Throws<InvalidOperationException>(() => SequencePipelineArchive.Save(mlContext, model, data.Schema, path));

        Assert.Contains("contract name", exception.Message); // ML.NET's own message
        Assert.False(File.Exists(path + ".tmp"), "the temporary file was left behind");
        Assert.Equal(targetExisted ? ["unsavable.zip"] : [], Directory.GetFiles(TestDirectory).Select(Path.GetFileName));
        if (targetExisted) Assert.Equal("old content", File.ReadAllText(path));
    }

    [Fact]
    public void Save_PathInMissingDirectory_ThrowsDirectoryNotFoundAndCreatesNothing()
    {
        var mlContext = new MLContext(seed: 1);
        var data = Load(mlContext, Regression(20, seed: 1));
        var model = mlContext.Regression.Trainers.ClipTrainer(SmallOptions(maximumNumberOfEpochs: 1)).Fit(data);
        string path = Path.Combine(PathOf("missing"), "model.zip");

        var exception = Assert.Throws<DirectoryNotFoundException>(() => SequencePipelineArchive.Save(mlContext, model, data.Schema, path));

        Assert.Contains($"'{path}'", exception.Message);
        Assert.DoesNotContain(".tmp", exception.Message); // the user's path, not the temporary file beside it
        Assert.False(Directory.Exists(PathOf("missing")));
        Assert.Empty(Directory.GetFileSystemEntries(TestDirectory));
    }

    public sealed class ScoreInput
    {
        public float Score { get; set; }
    }

    public sealed class DoubledScore
    {
        public float Doubled { get; set; }
    }
}
