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
/// What the archive tests share: a temporary directory per test (deleted afterwards), small fitted pipelines saved into it,
/// and ways to read and rewrite an archive's entries.
/// </summary>
public abstract class ArchiveTestBase : IDisposable
{
    private readonly string _directory = Directory.CreateTempSubdirectory("cliptrainer-archive-tests-").FullName;

    /// <summary>The temporary directory of this test.</summary>
    protected string TestDirectory => _directory;

    public void Dispose()
    {
        Directory.Delete(_directory, recursive: true);
        GC.SuppressFinalize(this);
    }

    protected string PathOf(string name) => Path.Combine(_directory, name);

    protected static TransformerChain<ITransformer> FitMulticlassPipeline(MLContext mlContext, SequenceTrainerOptions options) =>
        mlContext.Transforms.Conversion.MapValueToKey("Label")
            .Append(mlContext.MulticlassClassification.Trainers.ClipTrainer(options))
            .Append(mlContext.Transforms.Conversion.MapKeyToValue("PredictedLabel"))
            .Append(mlContext.Transforms.CopyColumns("Answer", "PredictedLabel"))
            .Fit(Load(mlContext, Multiclass(200, seed: 1)))
            is var chain ? new TransformerChain<ITransformer>(chain.Cast<ITransformer>().ToArray()) : null!;

    protected string SaveSmallRegression(string name, int hiddenSize = 8)
    {
        var mlContext = new MLContext(seed: 1);
        var options = SmallOptions(maximumNumberOfEpochs: 3);
        options.HiddenSize = hiddenSize;
        options.MaximumNumberOfEpochs = 1;
        var data = Load(mlContext, Regression(20, seed: 1));
        var model = mlContext.Regression.Trainers.ClipTrainer(options).Fit(data);
        string path = PathOf(name);
        SequencePipelineArchive.Save(mlContext, model, data.Schema, path);
        return path;
    }

    protected static string WeightsEntry(string path)
    {
        using var zip = ZipFile.OpenRead(path);
        return Assert.Single(zip.Entries, e => e.FullName.EndsWith(".weights", StringComparison.Ordinal)).FullName;
    }

    protected static byte[] ReadEntry(string path, string name)
    {
        using var zip = ZipFile.OpenRead(path);
        using var stream = zip.GetEntry(name)!.Open();
        using var buffer = new MemoryStream();
        stream.CopyTo(buffer);
        return buffer.ToArray();
    }

    protected static void ReplaceEntry(string path, string name, byte[] content)
    {
        using var zip = ZipFile.Open(path, ZipArchiveMode.Update);
        zip.GetEntry(name)!.Delete();
        using var stream = zip.CreateEntry(name).Open();
        stream.Write(content);
    }

    protected static void EditManifest(string path, Action<JsonObject> edit)
    {
        var manifest = JsonNode.Parse(ReadEntry(path, "manifest.json"))!.AsObject();
        edit(manifest);
        ReplaceEntry(path, "manifest.json", Encoding.UTF8.GetBytes(manifest.ToJsonString()));
    }
}
