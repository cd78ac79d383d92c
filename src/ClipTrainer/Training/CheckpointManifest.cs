namespace ClipTrainer.Training;

/// <summary>
/// A checkpoint's manifest (<c>manifest.json</c>): what it is (format, version), what run it fits (task, model,
/// optimizer, seed, shuffling, batches per epoch), where the run was, and the SHA-256 of every other file.
/// </summary>
internal sealed record CheckpointManifest
{
    public const string FormatName = "ClipTrainer.TrainingCheckpoint";
    public const int CurrentVersion = 1;

    public string Format { get; init; } = "";
    public int Version { get; init; }
    public string Task { get; init; } = "";

    /// <summary>The <see cref="Modeling.SequenceModel"/>'s options as text, or null for another module of the model port.</summary>
    public string? Model { get; init; }

    /// <summary>Every entry of the model's <c>state_dict()</c> as "name dtype [shape]", in order: the model's shape for any module.</summary>
    public IReadOnlyList<string> Tensors { get; init; } = [];

    public string Optimizer { get; init; } = "";
    public int Seed { get; init; }
    public bool Shuffle { get; init; }
    public int? StepsPerEpoch { get; init; }

    /// <summary>The 1-based epoch in progress (or just completed, see <see cref="EpochCompleted"/>).</summary>
    public int Epoch { get; init; }

    /// <summary>The steps of <see cref="Epoch"/> already done.</summary>
    public int StepInEpoch { get; init; }

    public bool EpochCompleted { get; init; }
    public long GlobalStep { get; init; }
    public double LearningRate { get; init; }
    public int EpochsSinceBest { get; init; }
    public int BestEpoch { get; init; }
    public double BestValidationLoss { get; init; }
    public bool HasBestWeights { get; init; }

    /// <summary>The clip stages' names once a step was applied (null before): the step log's column layout.</summary>
    public IReadOnlyList<string>? StageNames { get; init; }

    /// <summary>File name → lower-case hex SHA-256.</summary>
    public Dictionary<string, string> Files { get; init; } = [];
}
