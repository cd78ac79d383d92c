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
/// Loading files that are not archives of this format, or damaged ones: clear errors naming the file and the part.
/// </summary>
[Collection(TorchSharpTrainingCollection.Name)]
public sealed class SequencePipelineArchiveLoadTests : ArchiveTestBase
{
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
        var options = SmallOptions(maxEpoch: 3);
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
}
