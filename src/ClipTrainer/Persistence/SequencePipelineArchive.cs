using System.IO.Compression;
using System.Text.Json;
using System.Text.Json.Serialization;
using ClipTrainer.Modeling;
using ClipTrainer.Scoring;
using ClipTrainer.Training;
using Microsoft.ML;
using TorchSharp;
using Microsoft.ML.Data;

namespace ClipTrainer.Persistence;

/// <summary>
/// Saves and loads a whole fitted pipeline that holds ClipTrainer transformers, in one file. ML.NET's
/// <c>mlContext.Model.Save</c> cannot store external transformers (its save context and loader registry are not
/// public), so the archive holds each run of consecutive ML.NET transformers saved by <c>mlContext.Model.Save</c>
/// in its own entry, and for each <see cref="SequenceTransformer"/> its weights (TorchSharp format) and a JSON spec,
/// listed in order by a versioned manifest.
/// </summary>
public static class SequencePipelineArchive
{
    /// <summary>The format name written into every archive's manifest.</summary>
    public const string FormatName = "ClipTrainer.SequencePipeline";

    /// <summary>The version this build writes and reads (2: the module is stored as a registered factory name and its options).</summary>
    public const int FormatVersion = 2;

    private const string ManifestEntry = "manifest.json";
    private const string InputSchemaEntry = "input-schema.mlnet";
    // Histories hold NaN (a skipped-only epoch, R² of constant labels): JSON numbers cannot, its named literals can.
    private static readonly JsonSerializerOptions Json = new()
    {
        WriteIndented = true,
        NumberHandling = JsonNumberHandling.AllowNamedFloatingPointLiterals,
        Converters = { new JsonStringEnumConverter() },
    };

    /// <summary>Saves <paramref name="model"/> (a transformer or a chain, nested chains flattened) to <paramref name="path"/>.</summary>
    /// <param name="mlContext">The context whose <c>Model.Save</c> writes the ML.NET parts.</param>
    /// <param name="model">The fitted pipeline.</param>
    /// <param name="inputSchema">The schema of the data the pipeline takes.</param>
    /// <param name="path">The file to create or overwrite.</param>
    /// <exception cref="ArgumentNullException">An argument is null.</exception>
    /// <exception cref="InvalidOperationException">An ML.NET transformer in the pipeline cannot be saved by ML.NET (ML.NET's own
    /// exception, e.g. for a custom mapping without a contract name); the target file is left as it was.</exception>
    /// <exception cref="IOException">The file cannot be written (e.g. its directory does not exist); the target file is left as it was.</exception>
    public static void Save(MLContext mlContext, ITransformer model, DataViewSchema inputSchema, string path)
    {
        ArgumentNullException.ThrowIfNull(mlContext);
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(inputSchema);
        ArgumentException.ThrowIfNullOrWhiteSpace(path);

        // Written beside the target and renamed over it at the end: a failed save leaves no half-written archive.
        string temporary = path + ".tmp";
        try
        {
            Write(mlContext, model, inputSchema, temporary);
            File.Move(temporary, path, overwrite: true);
        }
        // The messages name the user's path, not the temporary file beside it; the exception types stay.
        catch (DirectoryNotFoundException e)
        {
            throw new DirectoryNotFoundException(SaveError(path, temporary, e), e);
        }
        catch (UnauthorizedAccessException e)
        {
            throw new UnauthorizedAccessException(SaveError(path, temporary, e), e);
        }
        catch (IOException e) when (e.GetType() == typeof(IOException))
        {
            throw new IOException(SaveError(path, temporary, e), e);
        }
        finally
        {
            if (File.Exists(temporary)) File.Delete(temporary);
        }
    }

    private static string SaveError(string path, string temporary, Exception e) =>
        $"Cannot save the pipeline archive to '{path}': {e.Message.Replace(temporary, path, StringComparison.Ordinal)}";

    private static void Write(MLContext mlContext, ITransformer model, DataViewSchema inputSchema, string path)
    {
        using var file = File.Create(path);
        using var zip = new ZipArchive(file, ZipArchiveMode.Create);
        // An empty ML.NET chain keeps the pipeline's input schema, whatever the first stage is.
        WriteEntry(zip, InputSchemaEntry, s => mlContext.Model.Save(new TransformerChain<ITransformer>(), inputSchema, s));
        var stages = new List<ArchiveStage>();
        var schema = inputSchema;
        var run = new List<ITransformer>();
        foreach (var transformer in Flatten(model).Append(null))
        {
            if (transformer is not SequenceTransformer and not null) { run.Add(transformer); continue; }
            if (run.Count > 0)
            {
                var chain = new TransformerChain<ITransformer>(run.ToArray());
                string entry = $"stages/{stages.Count}.mlnet";
                var runInput = schema;
                WriteEntry(zip, entry, s => mlContext.Model.Save(chain, runInput, s));
                stages.Add(new ArchiveStage("mlnet", entry));
                schema = chain.GetOutputSchema(schema);
                run.Clear();
            }
            if (transformer is SequenceTransformer sequence)
            {
                string prefix = $"stages/{stages.Count}";
                WriteEntry(zip, prefix + ".json", s => JsonSerializer.Serialize(s, Spec(sequence, schema), Json));
                WriteEntry(zip, prefix + ".weights", s => sequence.Model.Network.save(new BinaryWriter(s)));
                stages.Add(new ArchiveStage("sequence", prefix));
                schema = sequence.GetOutputSchema(schema);
            }
        }
        WriteEntry(zip, ManifestEntry, s => JsonSerializer.Serialize(s, new ArchiveManifest(FormatName, FormatVersion, stages.ToArray()), Json));
    }

    /// <summary>Loads a pipeline saved by <see cref="Save"/> into <paramref name="mlContext"/>.</summary>
    /// <param name="mlContext">The context to load the ML.NET parts into.</param>
    /// <param name="path">The archive.</param>
    /// <param name="inputSchema">The schema of the data the pipeline takes, as saved.</param>
    /// <param name="device">
    /// The device the sequence models score on; null keeps the device each was trained on. Pass
    /// <see cref="ComputeDevice.Cpu"/> to serve a model trained on a GPU from a machine without one.
    /// </param>
    /// <returns>The pipeline as one chain, in the saved order.</returns>
    /// <exception cref="FileNotFoundException">The file does not exist.</exception>
    /// <exception cref="InvalidDataException">The file is not a ClipTrainer pipeline archive, is damaged, or has another format version.</exception>
    /// <exception cref="InvalidOperationException">A model's device is not available on this machine, or its module factory is
    /// not registered in this process (the message names it and shows the <see cref="SequenceModuleRegistry.Register"/> call).</exception>
    public static TransformerChain<ITransformer> Load(MLContext mlContext, string path, out DataViewSchema inputSchema, ComputeDevice? device = null)
    {
        ArgumentNullException.ThrowIfNull(mlContext);
        ArgumentException.ThrowIfNullOrWhiteSpace(path);
        if (!File.Exists(path)) throw new FileNotFoundException($"No pipeline archive at '{path}'.", path);

        using var zip = ReadingFormat(path, () => ZipFile.OpenRead(path));
        var manifest = ReadingFormat(path, () => ReadManifest(zip));
        var schema = ReadingFormat(path, () => ReadEntry(zip, InputSchemaEntry, s => { mlContext.Model.Load(s, out var saved); return saved; }));
        var specs = ReadingFormat(path, () => manifest.Stages.Where(s => s.Kind == "sequence").ToDictionary(s => s.Entry,
            s => ReadEntry(zip, s.Entry + ".json", e => JsonSerializer.Deserialize<SequenceStageSpec>(e, Json))
                ?? throw new InvalidDataException($"The spec of stage '{s.Entry}' is empty.")));
        // Outside the format handling on purpose: a missing GPU or an unregistered factory is this process's problem, not the file's.
        foreach (var (entry, spec) in specs)
            if (!SequenceModuleRegistry.IsRegistered(spec.ModuleFactoryName))
                throw new InvalidOperationException(SequenceModuleRegistry.NotRegisteredMessage(spec.ModuleFactoryName, $"Stage '{entry}' of '{path}'"));
        var devices = specs.ToDictionary(s => s.Key, s => device ?? s.Value.Device);
        foreach (var wanted in devices.Values.Distinct()) DeviceResolver.Resolve(wanted);

        inputSchema = schema;
        var transformers = new List<ITransformer>();
        try
        {
            foreach (var stage in manifest.Stages)
            {
                var loaded = ReadingFormat<ITransformer>(path, () => stage.Kind switch
                {
                    "mlnet" => ReadEntry(zip, stage.Entry, s => mlContext.Model.Load(s, out _)),
                    "sequence" => LoadSequence(zip, stage.Entry, specs[stage.Entry], devices[stage.Entry]),
                    _ => throw new InvalidDataException($"Unknown stage kind '{stage.Kind}'."),
                });
                transformers.Add(loaded);
                schema = ReadingFormat(path, () => loaded.GetOutputSchema(schema));
            }
        }
        catch
        {
            // A damaged later stage must not leak the native weights of the stages already loaded.
            foreach (var loaded in transformers.OfType<IDisposable>()) loaded.Dispose();
            throw;
        }
        return new TransformerChain<ITransformer>(transformers.ToArray());
    }

    private static ArchiveManifest ReadManifest(ZipArchive zip)
    {
        var manifest = ReadEntry(zip, ManifestEntry, s => JsonSerializer.Deserialize<ArchiveManifest>(s, Json))
            ?? throw new InvalidDataException("The manifest is empty.");
        if (manifest.Format != FormatName)
            throw new InvalidDataException($"The manifest names format '{manifest.Format}', not '{FormatName}'.");
        if (manifest.Version != FormatVersion)
            throw new InvalidDataException($"The archive has format version {manifest.Version}; this build reads version {FormatVersion}.");
        return manifest;
    }

    /// <summary>
    /// Runs one read of the archive and reports what the file's content makes fail as <see cref="InvalidDataException"/>
    /// naming the file. The arguments are checked before, so an ArgumentException here comes from the content too:
    /// TorchSharp rejects weights that do not fit the model, the model rejects an out-of-range spec.
    /// </summary>
    private static T ReadingFormat<T>(string path, Func<T> read)
    {
        try
        {
            return read();
        }
        catch (Exception e) when (e is InvalidDataException or JsonException or KeyNotFoundException or EndOfStreamException
            or FormatException or InvalidOperationException or ArgumentException)
        {
            throw new InvalidDataException($"'{path}' is not a readable ClipTrainer pipeline archive: {e.Message}", e);
        }
    }

    private static IEnumerable<ITransformer> Flatten(ITransformer transformer) =>
        transformer is IEnumerable<ITransformer> chain ? chain.SelectMany(Flatten) : [transformer];

    private static SequenceStageSpec Spec(SequenceTransformer sequence, DataViewSchema schema)
    {
        var outputs = sequence.Outputs;
        var history = sequence.History;
        return new SequenceStageSpec(sequence.Task, sequence.FeatureColumnName, (sequence.FeatureColumnType as VectorDataViewType)?.Size ?? 0,
            sequence.Model.SequenceLength, sequence.Model.ModuleFactoryName, new Dictionary<string, string>(sequence.Model.ModuleOptions),
            sequence.Model.InputSize, sequence.Model.OutputSize, outputs.ScoreColumnName,
            outputs.PredictedLabelColumnName, outputs.ClassCount, outputs.KeyValues?.TypeName, outputs.KeyValues?.Values,
            sequence.Device, history.ValidationMetricName, history.BestEpoch, history.StoppedEarly, history.Epochs.ToArray(),
            history.StopReason, history.StageNames.ToArray(), history.HasNonFiniteWeights);
    }

    private static SequenceTransformer LoadSequence(ZipArchive zip, string prefix, SequenceStageSpec spec, ComputeDevice device)
    {
        var network = SequenceModuleRegistry.Create(spec.ModuleFactoryName, new SequenceModuleRequest(spec.ModuleOptions ?? [], spec.InputSize, spec.OutputSize, Seed: 0));
        try
        {
            ReadEntry(zip, prefix + ".weights", s => network.load(new BinaryReader(s)));
            network.to(DeviceResolver.Resolve(device));
            network.eval();
            var keyValues = spec.KeyValueType is null ? null : LabelKeyValues.Create(spec.KeyValueType, spec.KeyValues ?? []);
            if (keyValues is not null && keyValues.Values.Length != spec.ClassCount)
                throw new InvalidDataException($"Stage '{prefix}' lists {keyValues.Values.Length} key values for {spec.ClassCount} classes.");
            var outputs = new OutputColumns(spec.Task, spec.ScoreColumnName, spec.PredictedLabelColumnName, spec.ClassCount, keyValues);
            var history = new TrainingHistory(spec.History, spec.BestEpoch, spec.ValidationMetricName, spec.StoppedEarly,
                stageNames: spec.StageNames, stopReason: spec.StopReason)
            {
                HasNonFiniteWeights = spec.HasNonFiniteWeights,
            };
            var featureType = new VectorDataViewType(NumberDataViewType.Single, spec.FeatureVectorSize);
            var parameters = new SequenceModelParameters(network, spec.SequenceLength, spec.ModuleFactoryName, spec.ModuleOptions ?? [], spec.InputSize, spec.OutputSize);
            return new SequenceTransformer(spec.Task, parameters, spec.FeatureColumnName,
                featureType, outputs, history, device);
        }
        catch
        {
            network.Dispose();
            throw;
        }
    }

    private static void WriteEntry(ZipArchive zip, string name, Action<Stream> write)
    {
        using var stream = zip.CreateEntry(name, CompressionLevel.Fastest).Open();
        write(stream);
    }

    private static T ReadEntry<T>(ZipArchive zip, string name, Func<Stream, T> read)
    {
        var entry = zip.GetEntry(name) ?? throw new InvalidDataException($"The entry '{name}' is missing.");
        // ML.NET and TorchSharp readers seek: give them a seekable copy.
        using var buffer = new MemoryStream();
        using (var stream = entry.Open()) stream.CopyTo(buffer);
        buffer.Position = 0;
        return read(buffer);
    }
}
