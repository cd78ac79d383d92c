using ClipTrainer.Data;
using ClipTrainer.Training;

namespace ClipTrainer.Persistence;

/// <summary>
/// The JSON description of one <see cref="SequenceTransformer"/> inside a pipeline archive (its weights are a separate entry):
/// the module as a registered factory name plus its own options, so loading builds it through the same registry as training.
/// </summary>
internal sealed record SequenceStageSpec(
    SequenceTask Task,
    string FeatureColumnName,
    int FeatureVectorSize,
    int? SequenceLength,
    string ModuleFactoryName,
    Dictionary<string, string> ModuleOptions,
    int InputSize,
    int OutputSize,
    string ScoreColumnName,
    string PredictedLabelColumnName,
    int ClassCount,
    string? KeyValueType,
    string[]? KeyValues,
    ComputeDevice Device,
    string ValidationMetricName,
    int BestEpoch,
    bool StoppedEarly,
    EpochRecord[] History,
    string? StopReason = null,
    string[]? StageNames = null,
    bool HasNonFiniteWeights = false);

/// <summary>The archive's table of contents: format, version, and the stages in order.</summary>
internal sealed record ArchiveManifest(string Format, int Version, ArchiveStage[] Stages);

/// <summary>One stage: a run of ML.NET transformers ("mlnet") or one ClipTrainer transformer ("sequence").</summary>
internal sealed record ArchiveStage(string Kind, string Entry);
