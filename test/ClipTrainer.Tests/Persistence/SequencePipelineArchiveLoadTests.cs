using System.IO.Compression;
using System.Text;
using System.Text.Json.Nodes;
using ClipTrainer.Persistence;
using ClipTrainer.Training;
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
        EditManifest(path, manifest => manifest["Version"] = SequencePipelineArchive.FormatVersion + 1);

        var exception = Assert.Throws<InvalidDataException>(() => SequencePipelineArchive.Load(new MLContext(seed: 1), path, out _));

        Assert.Contains("format version 3", exception.Message);
        Assert.Contains("reads version 2", exception.Message);
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
        var options = SmallOptions(maximumNumberOfEpochs: 3);
        options.MaximumNumberOfEpochs = 1;
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
        json["ModuleOptions"]!["HiddenSize"] = "0";
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

    // ---- Devices --------------------------------------------------------------------------------------------------

    [Fact]
    public void Load_DeviceCudaOnCpuOnlyMachine_ThrowsInvalidOperationNotInvalidData()
    {
        // A missing GPU is this machine's problem, not the file's: it must not be reported as a damaged archive.
        string path = SaveSmallRegression("cuda.zip");

        var exception = Assert.Throws<InvalidOperationException>(() =>
            SequencePipelineArchive.Load(new MLContext(seed: 1), path, out _, device: ComputeDevice.Cuda));

        Assert.Contains("Cuda", exception.Message);
        Assert.Contains("ComputeDevice.Cpu", exception.Message);
    }

    [Fact]
    public void Load_DeviceCpu_ScoresOnCpuLikeTheSavedModel()
    {
        var (path, expected) = SaveRegressionWithScores("cpu.zip");
        var mlContext = new MLContext(seed: 1);

        var loaded = SequencePipelineArchive.Load(mlContext, path, out _, device: ComputeDevice.Cpu);

        Assert.Equal(ComputeDevice.Cpu, Assert.IsType<SequenceTransformer>(Assert.Single(loaded)).Device);
        Assert.Equal(expected, Column<float>(loaded.Transform(Load(mlContext, Regression(30, seed: 2))), "Score"));
    }

    [Fact]
    public void Load_SpecTrainedOnCuda_LoadsWithDeviceCpuAndFailsClearlyWithoutOne()
    {
        // An archive from a GPU machine: the spec says Cuda. Served from this CPU-only machine by asking for the CPU.
        var (path, expected) = SaveRegressionWithScores("trained-on-cuda.zip");
        string spec = WeightsEntry(path).Replace(".weights", ".json", StringComparison.Ordinal);
        var json = JsonNode.Parse(ReadEntry(path, spec))!.AsObject();
        Assert.Equal("Cpu", (string?)json["Device"]);
        json["Device"] = "Cuda";
        ReplaceEntry(path, spec, Encoding.UTF8.GetBytes(json.ToJsonString()));
        var mlContext = new MLContext(seed: 1);

        var onCpu = SequencePipelineArchive.Load(mlContext, path, out _, device: ComputeDevice.Cpu);
        var asSaved = Assert.Throws<InvalidOperationException>(() => SequencePipelineArchive.Load(new MLContext(seed: 1), path, out _));

        Assert.Equal(ComputeDevice.Cpu, Assert.IsType<SequenceTransformer>(Assert.Single(onCpu)).Device);
        Assert.Equal(expected, Column<float>(onCpu.Transform(Load(mlContext, Regression(30, seed: 2))), "Score"));
        Assert.Contains("Cuda", asSaved.Message);
        Assert.Contains("ComputeDevice.Cpu", asSaved.Message);
    }

    private (string Path, List<float> Scores) SaveRegressionWithScores(string name)
    {
        var mlContext = new MLContext(seed: 1);
        var data = Load(mlContext, Regression(40, seed: 1));
        var model = mlContext.Regression.Trainers.ClipTrainer(SmallOptions(maximumNumberOfEpochs: 1)).Fit(data);
        string path = PathOf(name);
        SequencePipelineArchive.Save(mlContext, model, data.Schema, path);
        return (path, Column<float>(model.Transform(Load(mlContext, Regression(30, seed: 2))), "Score"));
    }
}
