using System.Globalization;
using System.Security.Cryptography;
using System.Text.Json;
using ClipTrainer.Modeling;
using TorchSharp;
using static TorchSharp.torch;

namespace ClipTrainer.Training;

/// <summary>
/// Writes a <see cref="TrainingState"/> into a checkpoint folder and restores one into a new run's state, refusing a
/// damaged, foreign or mismatched checkpoint before anything is changed.
/// </summary>
internal static class TrainingCheckpoint
{
    private const string WeightsFile = "weights.bin";
    private const string OptimizerFile = "optimizer.bin";
    private const string ClipperFile = "clipper.bin";
    private const string RandomFile = "random.bin";
    private const string BestFile = "best-weights.bin";
    private const string HistoryFile = "history.json";

    // Named literals: a skipped step's norm is NaN and the best loss before any epoch is +∞; doubles round-trip exactly.
    private static readonly JsonSerializerOptions Json = new()
    {
        NumberHandling = System.Text.Json.Serialization.JsonNumberHandling.AllowNamedFloatingPointLiterals,
        WriteIndented = true,
    };

    /// <summary>
    /// Writes the state at a step boundary into a new folder of <paramref name="directory"/> and returns its path. The
    /// pending step records are read to the host first (and delivered to the sinks, as at any block's end).
    /// </summary>
    public static string Write(TrainingState state, string directory, int keepLast)
    {
        state.DeliverSteps(state.Log.Flush());
        bool epochCompleted = state.EpochList.Count == state.Epoch;
        var name = CheckpointFolder.NameOf(state.GlobalStep, epochCompleted);
        return CheckpointFolder.Write(directory, name, keepLast, folder => WriteFiles(state, folder, epochCompleted));
    }

    private static void WriteFiles(TrainingState state, string folder, bool epochCompleted)
    {
        using var scope = NewDisposeScope();
        var weights = state.Model.state_dict();
        NamedTensorFile.Write(Path.Combine(folder, WeightsFile), weights);
        using (var writer = new BinaryWriter(File.Create(Path.Combine(folder, OptimizerFile))))
            Stateful(state.Optimizer).save_state_dict(writer);
        var clipperState = state.Clipper.ExportState(); // copies the caller owns
        try
        {
            NamedTensorFile.Write(Path.Combine(folder, ClipperFile), clipperState);
        }
        finally
        {
            foreach (var tensor in clipperState.Values) tensor.Dispose();
        }

        using var generator = torch.random.get_rng_state();
        NamedTensorFile.Write(Path.Combine(folder, RandomFile), [new("generator", generator)]);
        if (state.Best.Snapshot is { } best) NamedTensorFile.Write(Path.Combine(folder, BestFile), best);
        File.WriteAllText(Path.Combine(folder, HistoryFile),
            JsonSerializer.Serialize(new CheckpointHistory(state.EpochList.ToArray(), state.Steps.ToArray()), Json));

        var manifest = Describe(state) with
        {
            Epoch = state.Epoch,
            StepInEpoch = state.StepInEpoch,
            EpochCompleted = epochCompleted,
            GlobalStep = state.GlobalStep,
            LearningRate = state.LearningRate,
            EpochsSinceBest = state.EpochsSinceBest,
            BestEpoch = state.Best.BestEpoch,
            BestValidationLoss = state.Best.BestLoss,
            HasBestWeights = state.Best.Snapshot is not null,
            StageNames = state.Log.StagesKnown ? state.Log.StageNames.ToArray() : null,
            Files = Directory.EnumerateFiles(folder).ToDictionary(f => Path.GetFileName(f), Hash, StringComparer.Ordinal),
        };
        File.WriteAllText(Path.Combine(folder, CheckpointFolder.ManifestFileName), JsonSerializer.Serialize(manifest, Json)); // last: it vouches for the rest
    }

    /// <summary>What the run is, in the manifest's terms: a checkpoint fits a run when these agree.</summary>
    private static CheckpointManifest Describe(TrainingState state)
    {
        using var scope = NewDisposeScope();
        return new CheckpointManifest
        {
            Format = CheckpointManifest.FormatName,
            Version = CheckpointManifest.CurrentVersion,
            Task = state.Task.ToString(),
            Model = state.Model is SequenceModel model ? DescribeModel(model.Options) : null,
            Tensors = state.Model.state_dict().Select(p => $"{p.Key} {p.Value.dtype} [{string.Join(", ", p.Value.shape)}]").ToArray(),
            Optimizer = state.Settings.Optimizer.ToString(),
            Seed = state.Settings.Seed,
            Shuffle = state.Settings.Shuffle,
            StepsPerEpoch = state.StepsPerEpoch,
        };
    }

    private static string DescribeModel(SequenceModelOptions o) => string.Create(CultureInfo.InvariantCulture,
        $"CellType {o.CellType}, InputSize {o.InputSize}, HiddenSize {o.HiddenSize}, NumberOfLayers {o.NumberOfLayers}, " +
        $"Bidirectional {o.Bidirectional}, Dropout {o.Dropout}, Pooling {o.Pooling}, OutputSize {o.OutputSize}");

    /// <summary>
    /// Finds the checkpoint <paramref name="options"/> asks to resume from (null: a fresh run), after checking that the
    /// run cannot overwrite checkpoints it did not resume from.
    /// </summary>
    public static string? FindResumePoint(CheckpointOptions options)
    {
        var directory = options.Directory!;
        string? resume = null;
        if (options.ResumeFrom is { } from)
        {
            resume = CheckpointFolder.IsCheckpoint(from) ? from : CheckpointFolder.Newest(from) ?? throw new ArgumentException(
                $"Checkpoints.ResumeFrom '{from}' is neither a checkpoint (it has no {CheckpointFolder.ManifestFileName}) nor a folder of checkpoints " +
                $"({(Directory.Exists(from) ? "it holds no checkpoint-* folder" : "it does not exist")}).", nameof(CheckpointOptions.ResumeFrom));
        }
        else if (options.ResumeFromLatest)
        {
            resume = CheckpointFolder.Newest(directory);
        }

        var newest = CheckpointFolder.Newest(directory);
        if (resume is null && newest is not null)
            throw new InvalidOperationException(
                $"Checkpoints.Directory '{directory}' already holds checkpoints (newest: '{Path.GetFileName(newest)}'), which a fresh run would overwrite. " +
                "Set Checkpoints.ResumeFromLatest = true to continue that run, or choose an empty folder; nothing was changed.");
        if (resume is not null && newest is not null
            && string.CompareOrdinal(Path.GetFileName(newest), Path.GetFileName(resume)) > 0 && !SameFolder(newest, resume))
            throw new InvalidOperationException(
                $"Checkpoints.Directory '{directory}' holds '{Path.GetFileName(newest)}', newer than the checkpoint resumed from ('{resume}'), which the " +
                "resumed run would overwrite or mix with its own. Resume from the newest, or write into another folder; nothing was changed.");
        return resume;
    }

    private static bool SameFolder(string a, string b) =>
        string.Equals(Path.GetFullPath(a).TrimEnd('/'), Path.GetFullPath(b).TrimEnd('/'), StringComparison.Ordinal);

    /// <summary>
    /// Loads the checkpoint at <paramref name="folder"/> into <paramref name="state"/> (a new run's, before its first
    /// step) and returns how many steps of the epoch in progress were done (0 at an epoch boundary). Every check runs
    /// before the state is touched.
    /// </summary>
    public static int Restore(TrainingState state, string folder)
    {
        var manifest = ReadManifest(folder);
        CheckFits(folder, manifest, Describe(state));
        var weights = Load(folder, WeightsFile);
        var clipper = Load(folder, ClipperFile);
        var random = Load(folder, RandomFile);
        var best = manifest.HasBestWeights ? Load(folder, BestFile) : null;
        try
        {
            var history = Read(folder, HistoryFile, path => JsonSerializer.Deserialize<CheckpointHistory>(File.ReadAllText(path), Json))
                ?? throw Damaged(folder, $"{HistoryFile} is empty");
            using (var noGrad = no_grad())
            {
                foreach (var (name, tensor) in state.Model.state_dict()) tensor.copy_(weights[name]);
            }

            Read(folder, OptimizerFile, path =>
            {
                using var reader = new BinaryReader(File.OpenRead(path));
                Stateful(state.Optimizer).load_state_dict(reader);
                return true;
            });
            state.Clipper.ImportState(clipper);
            torch.random.set_rng_state(random["generator"]);
            state.Best.Load(manifest.BestEpoch, manifest.BestValidationLoss, best, state.Device);
            state.Log.Restore(history.Steps, manifest.StageNames);
            state.EpochList.AddRange(history.Epochs);
            state.GlobalStep = manifest.GlobalStep;
            state.LearningRate = manifest.LearningRate;
            state.EpochsSinceBest = manifest.EpochsSinceBest;
            state.ResumedFrom = folder;
            bool midEpoch = !manifest.EpochCompleted && manifest.StepInEpoch > 0;
            state.Epoch = midEpoch ? manifest.Epoch : history.Epochs.Length;
            state.StepInEpoch = midEpoch ? manifest.StepInEpoch : 0;
            return state.StepInEpoch;
        }
        finally
        {
            foreach (var set in new[] { weights, clipper, random, best })
                foreach (var tensor in set?.Values ?? Enumerable.Empty<Tensor>()) tensor.Dispose();
        }
    }

    private static CheckpointManifest ReadManifest(string folder)
    {
        var path = Path.Combine(folder, CheckpointFolder.ManifestFileName);
        CheckpointManifest? manifest;
        try
        {
            manifest = JsonSerializer.Deserialize<CheckpointManifest>(File.ReadAllText(path), Json);
        }
        catch (Exception e) when (e is JsonException or IOException or UnauthorizedAccessException)
        {
            throw Damaged(folder, $"{CheckpointFolder.ManifestFileName} cannot be read ({e.Message})", e);
        }

        if (manifest is null || manifest.Format != CheckpointManifest.FormatName)
            throw new InvalidDataException(
                $"'{folder}' is not a ClipTrainer training checkpoint: its manifest names format '{manifest?.Format}', not '{CheckpointManifest.FormatName}'.");
        if (manifest.Version != CheckpointManifest.CurrentVersion)
            throw new InvalidDataException(
                $"The checkpoint '{folder}' has format version {manifest.Version}; this build reads version {CheckpointManifest.CurrentVersion}.");
        foreach (var (file, expected) in manifest.Files)
        {
            var path2 = Path.Combine(folder, file);
            if (!File.Exists(path2)) throw Damaged(folder, $"{file} is missing");
            if (!string.Equals(Hash(path2), expected, StringComparison.Ordinal)) throw Damaged(folder, $"{file} does not match its SHA-256 in the manifest");
        }

        foreach (var required in new[] { WeightsFile, OptimizerFile, ClipperFile, RandomFile, HistoryFile })
            if (!manifest.Files.ContainsKey(required)) throw Damaged(folder, $"the manifest lists no {required}");
        return manifest;
    }

    /// <summary>Compares what the checkpoint was written for with this run, naming every difference.</summary>
    private static void CheckFits(string folder, CheckpointManifest saved, CheckpointManifest run)
    {
        var differences = new List<string>();
        void Compare(string what, object? checkpoint, object? current)
        {
            if (!Equals(checkpoint, current)) differences.Add($"{what}: the checkpoint has {checkpoint ?? "none"}, this run {current ?? "none"}");
        }

        Compare("task", saved.Task, run.Task);
        Compare("model", saved.Model, run.Model);
        if (!saved.Tensors.SequenceEqual(run.Tensors))
        {
            var first = saved.Tensors.Zip(run.Tensors).FirstOrDefault(p => p.First != p.Second);
            differences.Add(first.First is null
                ? $"model tensors: the checkpoint has {saved.Tensors.Count}, this run {run.Tensors.Count}"
                : $"model tensors: the checkpoint has '{first.First}' where this run has '{first.Second}'");
        }

        Compare("Optimizer", saved.Optimizer, run.Optimizer);
        Compare("Seed", saved.Seed, run.Seed);
        Compare("Shuffle", saved.Shuffle, run.Shuffle);
        Compare("batches per epoch (the data or BatchSize)", saved.StepsPerEpoch, run.StepsPerEpoch);
        if (differences.Count > 0)
            throw new InvalidOperationException(
                $"The checkpoint '{folder}' does not fit this run: {string.Join("; ", differences)}. Resume with the settings and data it was written " +
                "with, or start a fresh run in another Checkpoints.Directory; the checkpoint was left unchanged.");
    }

    private static Dictionary<string, Tensor> Load(string folder, string file) => Read(folder, file, NamedTensorFile.Read);

    private static T Read<T>(string folder, string file, Func<string, T> read)
    {
        try
        {
            return read(Path.Combine(folder, file));
        }
        catch (Exception e) when (e is IOException or JsonException or ArgumentException or InvalidCastException or OverflowException
                                      or System.Runtime.InteropServices.ExternalException)
        {
            throw Damaged(folder, $"{file} cannot be read ({e.Message})", e);
        }
    }

    private static InvalidDataException Damaged(string folder, string what, Exception? inner = null) =>
        new($"The checkpoint '{folder}' is damaged: {what}. Resume from another checkpoint (the last {nameof(CheckpointOptions.KeepLast)} are kept); " +
            "this one was left unchanged.", inner);

    private static TorchSharp.Modules.OptimizerHelper Stateful(optim.Optimizer optimizer) => optimizer as TorchSharp.Modules.OptimizerHelper
        ?? throw new InvalidOperationException($"The optimizer {optimizer.GetType().Name} cannot save its state in a checkpoint.");

    private static string Hash(string path)
    {
        using var stream = File.OpenRead(path);
        return Convert.ToHexStringLower(SHA256.HashData(stream));
    }

    private sealed record CheckpointHistory(EpochRecord[] Epochs, TrainingStepRecord[] Steps);
}
