using System.IO.Compression;
using System.Text;
using System.Text.Json.Nodes;
using ClipTrainer.Persistence;
using Microsoft.ML;
using Microsoft.ML.Data;
using Xunit;
using static ClipTrainer.Tests.SequenceTestData;

namespace ClipTrainer.Tests.Persistence;

/// <summary>
/// Saving and loading whole fitted pipelines: identical predictions in a fresh MLContext, clear errors for files that
/// are not archives of this format, and ML.NET's own Model.Save pointing at the archive.
/// </summary>
[Collection(TorchSharpTrainingCollection.Name)]
public sealed class SequencePipelineArchiveTests : IDisposable
{
    private readonly string _directory = Directory.CreateTempSubdirectory("cliptrainer-archive-tests-").FullName;

    public void Dispose() => Directory.Delete(_directory, recursive: true);

    private string PathOf(string name) => Path.Combine(_directory, name);

    private static SequenceTrainerOptions SmallOptions() => new()
    {
        InputSize = InputSize,
        SequenceLength = SequenceLength,
        HiddenSize = 12,
        MaxEpoch = 3,
        LearningRate = 0.02,
    };

    private static TransformerChain<ITransformer> FitMulticlassPipeline(MLContext mlContext, SequenceTrainerOptions options) =>
        mlContext.Transforms.Conversion.MapValueToKey("Label")
            .Append(mlContext.MulticlassClassification.Trainers.ClipTrainer(options))
            .Append(mlContext.Transforms.Conversion.MapKeyToValue("PredictedLabel"))
            .Append(mlContext.Transforms.CopyColumns("Answer", "PredictedLabel"))
            .Fit(Load(mlContext, Multiclass(200, seed: 1)))
            is var chain ? new TransformerChain<ITransformer>(chain.Cast<ITransformer>().ToArray()) : null!;

    [Fact]
    public void SaveThenLoad_MulticlassPipelineInFreshContext_GivesBitIdenticalPredictions()
    {
        var mlContext = new MLContext(seed: 1);
        var model = FitMulticlassPipeline(mlContext, SmallOptions());
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
        var options = SmallOptions();
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
        Assert.Equal(model.Model.Options.HiddenSize, restored.Model.Options.HiddenSize);
    }

    [Fact]
    public void SaveThenLoad_VariableLengthRegression_GivesBitIdenticalPredictions()
    {
        var mlContext = new MLContext(seed: 1);
        var options = SmallOptions();
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
            .Select(r => new SequenceTrainerTests.NumericClassRow { Features = r.Features, Label = 0.5f + Array.IndexOf(ClassNames, r.Label) }).ToList();
        var data = mlContext.Data.LoadFromEnumerable(rows);
        var model = mlContext.Transforms.Conversion.MapValueToKey("Label")
            .Append(mlContext.MulticlassClassification.Trainers.ClipTrainer(SmallOptions()))
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
        var model = mlContext.Regression.Trainers.ClipTrainer(SmallOptions()).Fit(Load(mlContext, Regression(40, seed: 1)));
        string path = PathOf("replace.zip");
        File.WriteAllText(path, "old content");

        SequencePipelineArchive.Save(mlContext, model, Load(mlContext, Regression(1, seed: 1)).Schema, path);

        Assert.Single(SequencePipelineArchive.Load(new MLContext(seed: 1), path, out _));
        Assert.Equal(["replace.zip"], Directory.GetFiles(_directory).Select(Path.GetFileName));
    }

    [Fact]
    public void MlNetModelSave_ChainHoldingSequenceTransformer_FailsNamingTheArchiveSave()
    {
        var mlContext = new MLContext(seed: 1);
        var data = Load(mlContext, Multiclass(60, seed: 1));
        var options = SmallOptions();
        options.MaxEpoch = 1;
        var model = FitMulticlassPipeline(mlContext, options);

        var fromChain = Assert.Throws<NotSupportedException>(() => mlContext.Model.Save(model, data.Schema, PathOf("chain.zip")));
        var sequence = model.OfType<SequenceTransformer>().Single();
        var fromTransformer = Assert.Throws<NotSupportedException>(() => mlContext.Model.Save(sequence, data.Schema, PathOf("alone.zip")));

        Assert.Contains("SequencePipelineArchive.Save", fromChain.Message);
        Assert.Contains("SequencePipelineArchive.Load", fromChain.Message);
        Assert.Equal(fromChain.Message, fromTransformer.Message);
    }

    [Fact]
    public void Load_RandomBytes_ThrowsInvalidDataExceptionNamingTheFile()
    {
        string path = PathOf("random.zip");
        var bytes = new byte[4096];
        new Random(1).NextBytes(bytes);
        File.WriteAllBytes(path, bytes);

        var exception = Assert.Throws<InvalidDataException>(() => SequencePipelineArchive.Load(new MLContext(seed: 1), path, out _));

        Assert.Contains(path, exception.Message);
        Assert.Contains("not a readable ClipTrainer pipeline archive", exception.Message);
    }

    [Fact]
    public void Load_ZipWithoutManifest_ThrowsInvalidDataExceptionNamingTheManifest()
    {
        string path = PathOf("no-manifest.zip");
        using (var zip = ZipFile.Open(path, ZipArchiveMode.Create))
        using (var writer = new StreamWriter(zip.CreateEntry("readme.txt").Open()))
            writer.Write("not a pipeline");

        var exception = Assert.Throws<InvalidDataException>(() => SequencePipelineArchive.Load(new MLContext(seed: 1), path, out _));

        Assert.Contains("manifest.json", exception.Message);
        Assert.Contains("missing", exception.Message);
    }

    [Fact]
    public void Load_ManifestOfAnotherVersion_ThrowsInvalidDataExceptionNamingBothVersions()
    {
        string path = SaveSmallRegression("version.zip");
        EditManifest(path, manifest => manifest["Version"] = 2);

        var exception = Assert.Throws<InvalidDataException>(() => SequencePipelineArchive.Load(new MLContext(seed: 1), path, out _));

        Assert.Contains("format version 2", exception.Message);
        Assert.Contains("reads version 1", exception.Message);
    }

    [Fact]
    public void Load_ManifestOfAnotherFormat_ThrowsInvalidDataExceptionNamingTheFormat()
    {
        string path = SaveSmallRegression("format.zip");
        EditManifest(path, manifest => manifest["Format"] = "Something.Else");

        var exception = Assert.Throws<InvalidDataException>(() => SequencePipelineArchive.Load(new MLContext(seed: 1), path, out _));

        Assert.Contains("'Something.Else'", exception.Message);
        Assert.Contains(SequencePipelineArchive.FormatName, exception.Message);
    }

    [Fact]
    public void Load_ManifestNotJson_ThrowsInvalidDataException()
    {
        string path = SaveSmallRegression("garbled.zip");
        ReplaceEntry(path, "manifest.json", Encoding.UTF8.GetBytes("{ this is not json"));

        Assert.Throws<InvalidDataException>(() => SequencePipelineArchive.Load(new MLContext(seed: 1), path, out _));
    }

    [Fact]
    public void Load_TruncatedArchive_ThrowsInvalidDataException()
    {
        string path = SaveSmallRegression("truncated.zip");
        var bytes = File.ReadAllBytes(path);
        File.WriteAllBytes(path, bytes[..(bytes.Length / 2)]);

        Assert.Throws<InvalidDataException>(() => SequencePipelineArchive.Load(new MLContext(seed: 1), path, out _));
    }

    [Fact]
    public void Load_DamagedWeightsEntry_ThrowsInvalidDataException()
    {
        string path = SaveSmallRegression("weights.zip");
        string weights = WeightsEntry(path);
        var garbage = new byte[64];
        new Random(2).NextBytes(garbage);
        ReplaceEntry(path, weights, garbage);

        var exception = Assert.Throws<InvalidDataException>(() => SequencePipelineArchive.Load(new MLContext(seed: 1), path, out _));

        Assert.Contains(path, exception.Message);
    }

    [Fact]
    public void Load_WeightsOfAnotherArchitecture_ThrowsInvalidDataException()
    {
        // A consistent-looking archive whose weights come from a model with another hidden size.
        string path = SaveSmallRegression("mismatch.zip", hiddenSize: 12);
        string other = SaveSmallRegression("other.zip", hiddenSize: 5);
        ReplaceEntry(path, WeightsEntry(path), ReadEntry(other, WeightsEntry(other)));

        var exception = Assert.Throws<InvalidDataException>(() => SequencePipelineArchive.Load(new MLContext(seed: 1), path, out _));

        Assert.Contains(path, exception.Message);
    }

    [Fact]
    public void Load_DamagedMlNetStage_ThrowsInvalidDataException()
    {
        string path = PathOf("mlnet-stage.zip");
        var mlContext = new MLContext(seed: 1);
        var options = SmallOptions();
        options.MaxEpoch = 1;
        SequencePipelineArchive.Save(mlContext, FitMulticlassPipeline(mlContext, options), Load(mlContext, Multiclass(1, seed: 1)).Schema, path);
        var garbage = new byte[256];
        new Random(3).NextBytes(garbage);
        ReplaceEntry(path, "stages/0.mlnet", garbage);

        var exception = Assert.Throws<InvalidDataException>(() => SequencePipelineArchive.Load(new MLContext(seed: 1), path, out _));

        Assert.Contains(path, exception.Message);
    }

    [Fact]
    public void Load_SpecWithOutOfRangeArchitecture_ThrowsInvalidDataException()
    {
        string path = SaveSmallRegression("spec.zip");
        string spec = WeightsEntry(path).Replace(".weights", ".json", StringComparison.Ordinal);
        var json = JsonNode.Parse(ReadEntry(path, spec))!.AsObject();
        json["Model"]!["HiddenSize"] = 0;
        ReplaceEntry(path, spec, Encoding.UTF8.GetBytes(json.ToJsonString()));

        var exception = Assert.Throws<InvalidDataException>(() => SequencePipelineArchive.Load(new MLContext(seed: 1), path, out _));

        Assert.Contains("HiddenSize", exception.Message);
    }

    [Fact]
    public void Load_MissingFile_ThrowsFileNotFoundException()
    {
        var exception = Assert.Throws<FileNotFoundException>(() => SequencePipelineArchive.Load(new MLContext(seed: 1), PathOf("absent.zip"), out _));

        Assert.Equal(PathOf("absent.zip"), exception.FileName);
    }

    private string SaveSmallRegression(string name, int hiddenSize = 8)
    {
        var mlContext = new MLContext(seed: 1);
        var options = SmallOptions();
        options.HiddenSize = hiddenSize;
        options.MaxEpoch = 1;
        var data = Load(mlContext, Regression(20, seed: 1));
        var model = mlContext.Regression.Trainers.ClipTrainer(options).Fit(data);
        string path = PathOf(name);
        SequencePipelineArchive.Save(mlContext, model, data.Schema, path);
        return path;
    }

    private static string WeightsEntry(string path)
    {
        using var zip = ZipFile.OpenRead(path);
        return Assert.Single(zip.Entries, e => e.FullName.EndsWith(".weights", StringComparison.Ordinal)).FullName;
    }

    private static byte[] ReadEntry(string path, string name)
    {
        using var zip = ZipFile.OpenRead(path);
        using var stream = zip.GetEntry(name)!.Open();
        using var buffer = new MemoryStream();
        stream.CopyTo(buffer);
        return buffer.ToArray();
    }

    private static void ReplaceEntry(string path, string name, byte[] content)
    {
        using var zip = ZipFile.Open(path, ZipArchiveMode.Update);
        zip.GetEntry(name)!.Delete();
        using var stream = zip.CreateEntry(name).Open();
        stream.Write(content);
    }

    private static void EditManifest(string path, Action<JsonObject> edit)
    {
        var manifest = JsonNode.Parse(ReadEntry(path, "manifest.json"))!.AsObject();
        edit(manifest);
        ReplaceEntry(path, "manifest.json", Encoding.UTF8.GetBytes(manifest.ToJsonString()));
    }
}
