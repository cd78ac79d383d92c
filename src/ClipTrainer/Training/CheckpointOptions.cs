using System.Globalization;

namespace ClipTrainer.Training;

/// <summary>
/// Where and how often a training run writes checkpoints, and whether it resumes from one: set
/// <see cref="TrainingSettings.Checkpoints"/>, which both <see cref="SequenceTrainingLoop"/> and the ML.NET trainer read.
/// </summary>
/// <remarks>
/// <para>
/// A checkpoint is a folder <c>checkpoint-&lt;global step&gt;</c> (<c>…-epoch</c> when written at an epoch's end) in
/// <see cref="Directory"/> holding everything the run needs to continue: the weights, the optimizer's state, the clipping
/// rule's state, libtorch's global random state, the position (epoch, step in the epoch, global step, which is the
/// learning-rate schedule's position), the epoch and step records so far and the early-stopping bookkeeping with its
/// best-weights copy, plus a manifest with the format version, the task, the model's shape and a SHA-256 of every file.
/// It is written into a temporary folder that is renamed when complete, so a crash leaves either the whole checkpoint
/// or none; the newest <see cref="KeepLast"/> are kept.
/// </para>
/// <para>
/// A resumed run ends bit-identical (on the CPU, with the same settings and data) to one that was never interrupted,
/// including a run stopped in the middle of an epoch: the epoch's batch order is a function of (seed, epoch), so the
/// batches already done are passed over and the rest run. A checkpoint is refused, naming its path and what differs,
/// when it is damaged or foreign, or was written for another task, model shape, optimizer, seed, shuffling or number of
/// batches per epoch; nothing is written or deleted before that check.
/// </para>
/// </remarks>
public sealed class CheckpointOptions
{
    /// <summary>Gets or sets the folder the checkpoints are written into (created if missing).</summary>
    /// <value>Required: a non-blank path. Default: null.</value>
    public string? Directory { get; set; }

    /// <summary>Gets or sets after how many epochs a checkpoint is written (at the epoch's end); null for none by epoch.</summary>
    /// <value>Range: null or &gt; 0. Default: 1.</value>
    public int? EveryEpochs { get; set; } = 1;

    /// <summary>Gets or sets after how many optimizer steps (counted over the run) a checkpoint is written; null for none by step.</summary>
    /// <value>Range: null or &gt; 0. Default: null.</value>
    public int? EverySteps { get; set; }

    /// <summary>
    /// Gets or sets after how many minutes of wall-clock time since the run started (or since the last checkpoint) a
    /// checkpoint is written, at the end of the step that crosses it; null for none by time.
    /// </summary>
    /// <value>Range: null or &gt; 0, finite. Default: null.</value>
    public double? EveryMinutes { get; set; }

    /// <summary>Gets or sets how many of the newest checkpoints are kept in <see cref="Directory"/>; older ones are deleted.</summary>
    /// <value>Range: &gt; 0. Default: 3.</value>
    public int KeepLast { get; set; } = 3;

    /// <summary>
    /// Gets or sets a checkpoint to resume from: a checkpoint folder, or a folder of checkpoints (then its newest). It
    /// must exist and hold a checkpoint.
    /// </summary>
    /// <value>Default: null (no explicit resume).</value>
    public string? ResumeFrom { get; set; }

    /// <summary>
    /// Gets or sets whether the run resumes from the newest checkpoint in <see cref="Directory"/> when there is one, and
    /// starts afresh when there is none: the setting for a job that is simply restarted after a crash. Ignored when
    /// <see cref="ResumeFrom"/> is set.
    /// </summary>
    /// <value>Default: false; then a fresh run refuses a <see cref="Directory"/> that already holds checkpoints, so none is overwritten.</value>
    public bool ResumeFromLatest { get; set; }

    /// <summary>Checks every option and throws on the first one out of range.</summary>
    /// <exception cref="ArgumentException"><see cref="Directory"/> is null or blank.</exception>
    /// <exception cref="ArgumentOutOfRangeException">A period or <see cref="KeepLast"/> is out of range; the parameter name is the option's.</exception>
    public void Validate()
    {
        if (string.IsNullOrWhiteSpace(Directory))
            throw new ArgumentException(
                $"Checkpoints.{nameof(Directory)} must name the folder to write checkpoints into; got {(Directory is null ? "null" : $"'{Directory}'")}.",
                nameof(Directory));
        Require(EveryEpochs is null or > 0, EveryEpochs, nameof(EveryEpochs), "null (none by epoch) or > 0");
        Require(EverySteps is null or > 0, EverySteps, nameof(EverySteps), "null (none by step) or > 0");
        Require(EveryMinutes is null || (EveryMinutes > 0 && double.IsFinite(EveryMinutes.Value)), EveryMinutes, nameof(EveryMinutes),
            "null (none by time) or a finite number > 0");
        Require(KeepLast > 0, KeepLast, nameof(KeepLast), "> 0");
        if (ResumeFrom is not null && string.IsNullOrWhiteSpace(ResumeFrom))
            throw new ArgumentException($"Checkpoints.{nameof(ResumeFrom)} must be null or a path; got '{ResumeFrom}'.", nameof(ResumeFrom));
    }

    /// <summary>Returns a copy.</summary>
    /// <returns>A new object with the same values.</returns>
    public CheckpointOptions Clone() => (CheckpointOptions)MemberwiseClone();

    private static void Require(bool valid, object? value, string name, string expected)
    {
        if (!valid)
            throw new ArgumentOutOfRangeException(name, value,
                string.Create(CultureInfo.InvariantCulture, $"Checkpoints.{name} must be {expected}; got {value?.ToString() ?? "null"}."));
    }
}
