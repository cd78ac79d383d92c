using System.Security.Cryptography;
using ClipTrainer.Data;
using ClipTrainer.Modeling;
using ClipTrainer.Training;
using Xunit;

namespace ClipTrainer.Tests.Training;

/// <summary>
/// A damaged, foreign or mismatched checkpoint is refused with a message naming its path and what differs, and is left
/// byte for byte as it was; a fresh run does not overwrite another run's checkpoints; the options are checked by name.
/// </summary>
[Collection(TorchSharpTrainingCollection.Name)]
public sealed class CheckpointRefusalTests : IDisposable
{
    private readonly string _root = Directory.CreateTempSubdirectory("cliptrainer-refusal-").FullName;

    public void Dispose() => Directory.Delete(_root, recursive: true);

    /// <summary>One epoch of the scenario with a checkpoint at its end; returns the checkpoint folder.</summary>
    private string WriteCheckpoint(string name)
    {
        var settings = CheckpointScenario.Settings(Path.Combine(_root, name));
        settings.MaximumNumberOfEpochs = 1;
        settings.Checkpoints!.EveryEpochs = 1;
        using var model = CheckpointScenario.NewModel();
        SequenceTrainingLoop.Run(model, CheckpointScenario.Training, CheckpointScenario.Validation, settings);
        return Path.Combine(_root, name, "checkpoint-000000000009-epoch");
    }

    private static Dictionary<string, string> Contents(string folder) => Directory.EnumerateFiles(folder)
        .ToDictionary(Path.GetFileName, f => Convert.ToHexString(SHA256.HashData(File.ReadAllBytes(f))))!;

    private TException ResumeFails<TException>(string checkpoint, SequenceModel model, SequenceDataset? training = null)
        where TException : Exception
    {
        var before = Contents(checkpoint);
        var settings = CheckpointScenario.Settings(Path.Combine(_root, "resumed-" + Guid.NewGuid().ToString("N")));
        settings.Checkpoints!.ResumeFrom = checkpoint;
        var exception = Assert.Throws<TException>(() =>
            SequenceTrainingLoop.Run(model, training ?? CheckpointScenario.Training, CheckpointScenario.Validation, settings));
        Assert.Equal(before, Contents(checkpoint)); // loses nothing
        Assert.Contains(checkpoint, exception.Message);
        return exception;
    }

    [Fact]
    public void Run_CheckpointOfAnotherModelShape_IsRefusedNamingWhatDiffers()
    {
        var checkpoint = WriteCheckpoint("shape");
        using var wider = CheckpointScenario.NewModel(hiddenSize: 9);
        var exception = ResumeFails<InvalidOperationException>(checkpoint, wider);
        Assert.Contains("does not fit this run", exception.Message);
        Assert.Contains("HiddenSize 8", exception.Message);
        Assert.Contains("HiddenSize 9", exception.Message);
    }

    [Fact]
    public void Run_CheckpointOfAnotherTask_IsRefusedNamingBothTasks()
    {
        var checkpoint = WriteCheckpoint("task");
        // The same model fed binary labels: shapes differ too, but the task is named first.
        var rows = CheckpointScenario.Data(CheckpointScenario.Rows, seed: 11);
        var binary = SequenceDataset.CreateBinary(CheckpointScenario.InputSize,
            Enumerable.Range(0, rows.Count).Select(i => rows.GetFeatures(i).ToArray()).ToList(),
            Enumerable.Range(0, rows.Count).Select(i => rows.GetClassIndex(i) == 0).ToList());
        var options = CheckpointScenario.ModelOptions();
        options.OutputSize = 1;
        using var model = SequenceModel.Create(options, seed: 5);
        var before = Contents(checkpoint);
        var settings = CheckpointScenario.Settings(Path.Combine(_root, "resumed-task"));
        settings.EarlyStoppingPatience = null;
        settings.Checkpoints!.ResumeFrom = checkpoint;
        var exception = Assert.Throws<InvalidOperationException>(() => SequenceTrainingLoop.Run(model, binary, null, settings));
        Assert.Equal(before, Contents(checkpoint));
        Assert.Contains("task: the checkpoint has MulticlassClassification, this run BinaryClassification", exception.Message);
    }

    [Fact]
    public void Run_DamagedCheckpoint_IsRefusedNamingTheFile()
    {
        var checkpoint = WriteCheckpoint("damaged");
        var weights = Path.Combine(checkpoint, "weights.bin");
        var bytes = File.ReadAllBytes(weights);
        bytes[^3] ^= 0x40; // one bit of one weight
        File.WriteAllBytes(weights, bytes);
        using var model = CheckpointScenario.NewModel();
        var exception = ResumeFails<InvalidDataException>(checkpoint, model);
        Assert.Contains("is damaged: weights.bin does not match its SHA-256", exception.Message);
    }

    [Fact]
    public void Run_TruncatedManifest_IsRefusedAsDamaged()
    {
        var checkpoint = WriteCheckpoint("truncated");
        var manifest = Path.Combine(checkpoint, "manifest.json");
        File.WriteAllText(manifest, File.ReadAllText(manifest)[..40]);
        using var model = CheckpointScenario.NewModel();
        var exception = ResumeFails<InvalidDataException>(checkpoint, model);
        Assert.Contains("is damaged: manifest.json cannot be read", exception.Message);
    }

    [Fact]
    public void Run_ForeignFolder_IsRefusedAsNotACheckpoint()
    {
        var foreign = Path.Combine(_root, "foreign");
        Directory.CreateDirectory(foreign);
        File.WriteAllText(Path.Combine(foreign, "manifest.json"), """{ "Format": "SomethingElse", "Version": 1 }""");
        using var model = CheckpointScenario.NewModel();
        var exception = ResumeFails<InvalidDataException>(foreign, model);
        Assert.Contains("is not a ClipTrainer training checkpoint: its manifest names format 'SomethingElse'", exception.Message);
    }

    [Fact]
    public void Run_ResumeFromAFolderWithoutCheckpoints_SaysSo()
    {
        var empty = Path.Combine(_root, "empty");
        Directory.CreateDirectory(empty);
        var settings = CheckpointScenario.Settings(Path.Combine(_root, "out"));
        settings.Checkpoints!.ResumeFrom = empty;
        using var model = CheckpointScenario.NewModel();
        var exception = Assert.Throws<ArgumentException>(() =>
            SequenceTrainingLoop.Run(model, CheckpointScenario.Training, CheckpointScenario.Validation, settings));
        Assert.Equal("ResumeFrom", exception.ParamName);
        Assert.Contains($"'{empty}' is neither a checkpoint", exception.Message);
    }

    [Fact]
    public void Run_FreshRunIntoAFolderWithCheckpoints_IsRefusedAndDeletesNothing()
    {
        var checkpoint = WriteCheckpoint("used");
        var before = Contents(checkpoint);
        var settings = CheckpointScenario.Settings(Path.Combine(_root, "used"));
        settings.Checkpoints!.KeepLast = 1;
        using var model = CheckpointScenario.NewModel();
        var exception = Assert.Throws<InvalidOperationException>(() =>
            SequenceTrainingLoop.Run(model, CheckpointScenario.Training, CheckpointScenario.Validation, settings));
        Assert.Contains("already holds checkpoints (newest: 'checkpoint-000000000009-epoch')", exception.Message);
        Assert.Contains("ResumeFromLatest = true", exception.Message);
        Assert.Equal(before, Contents(checkpoint));
    }

    [Fact]
    public void Run_KeepLast_KeepsOnlyTheNewestCheckpoints()
    {
        var directory = Path.Combine(_root, "keep");
        var settings = CheckpointScenario.Settings(directory);
        settings.Checkpoints!.EverySteps = 2;
        settings.Checkpoints.KeepLast = 2;
        using var model = CheckpointScenario.NewModel();
        SequenceTrainingLoop.Run(model, CheckpointScenario.Training, CheckpointScenario.Validation, settings); // 27 steps
        Assert.Equal(["checkpoint-000000000024", "checkpoint-000000000026"],
            Directory.GetDirectories(directory).Select(Path.GetFileName).Order(StringComparer.Ordinal));
    }

    public static TheoryData<Action<CheckpointOptions>, string, string> InvalidOptions() => new()
    {
        { o => o.Directory = " ", "Directory", "Checkpoints.Directory must name the folder" },
        { o => o.EveryEpochs = 0, "EveryEpochs", "Checkpoints.EveryEpochs must be null (none by epoch) or > 0; got 0." },
        { o => o.EverySteps = -1, "EverySteps", "Checkpoints.EverySteps must be null (none by step) or > 0; got -1." },
        { o => o.EveryMinutes = double.NaN, "EveryMinutes", "Checkpoints.EveryMinutes must be null (none by time) or a finite number > 0; got NaN." },
        { o => o.EveryMinutes = double.PositiveInfinity, "EveryMinutes", "a finite number > 0" },
        { o => o.KeepLast = 0, "KeepLast", "Checkpoints.KeepLast must be > 0; got 0." },
    };

    [Theory]
    [MemberData(nameof(InvalidOptions))]
    public void Validate_InvalidCheckpointOption_ThrowsNamingIt(Action<CheckpointOptions> change, string name, string message)
    {
        var settings = new TrainingSettings { Checkpoints = new CheckpointOptions { Directory = "checkpoints" } };
        change(settings.Checkpoints);
        var exception = Assert.ThrowsAny<ArgumentException>(settings.Validate);
        Assert.Equal(name, exception.ParamName);
        Assert.Contains(message, exception.Message);
    }
}
