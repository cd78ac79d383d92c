using Tensorboard;

namespace ClipTrainer.Training;

/// <summary>
/// A monitoring sink that writes a TensorBoard event file as training goes: scalars for every step's record, per-epoch
/// scalars and histograms, and the run's settings as text. Point TensorBoard at the folder
/// (<c>tensorboard --logdir DIR</c>) to watch it during or after training.
/// </summary>
/// <remarks>
/// <para><b>Tags.</b> p is the clipping's norm type as Lightning prints it (<c>2.0</c>, <c>1.0</c>, <c>inf</c>); the
/// norm tags are those of Lightning's <c>utilities/grads.py</c>, so dashboards made for it read these unchanged.</para>
/// <list type="table">
/// <listheader><term>tag</term><description>value (step: the record's global step, 1-based, skipped steps included)</description></listheader>
/// <item><term><c>train/loss</c></term><description>the batch's data loss</description></item>
/// <item><term><c>train/learning_rate</c></term><description>the step's learning rate</description></item>
/// <item><term><c>grad_p_norm_total</c></term><description>the global gradient norm before clipping</description></item>
/// <item><term><c>grad_p_norm_total_post_clip</c></term><description>the global gradient norm after clipping</description></item>
/// <item><term><c>clip/coefficient/&lt;stage&gt;</c></term><description>each clip stage's smallest coefficient (1 = unchanged; NaN for value clipping and skipped steps), stages named as in <see cref="TrainingHistory.StageNames"/></description></item>
/// <item><term><c>clip/clipped</c>, <c>clip/skipped</c></term><description>1 when the step clipped / was skipped (non-finite gradients under SkipStep), else 0</description></item>
/// <item><term><c>grad_p_norm/&lt;group&gt;</c></term><description>each layer's or parameter's pre-clip norm, when <see cref="TrainingSettings.RecordGradientNorms"/> asks for them (names of <see cref="TrainingHistory.NormGroupNames"/>)</description></item>
/// </list>
/// <para>Per epoch, at the global step of the epoch's last step — so that epoch curves share the x-axis with the step
/// curves, as Lightning logs them — with <c>epoch</c> (the 1-based epoch number) beside them:</para>
/// <list type="table">
/// <listheader><term>tag</term><description>value</description></listheader>
/// <item><term><c>epoch/training_loss</c></term><description><see cref="EpochRecord.TrainingLoss"/></description></item>
/// <item><term><c>epoch/validation_loss</c>, <c>epoch/validation_accuracy</c> or <c>epoch/validation_rsquared</c></term><description>with validation data only</description></item>
/// <item><term><c>epoch/grad_p_norm_total_mean</c>, <c>_median</c>, <c>_p90</c>, <c>_p99</c>, <c>_max</c></term><description>the statistics of the epoch's pre-clip global norms</description></item>
/// <item><term><c>epoch/grad_p_norm_total_post_clip_mean</c></term><description><see cref="EpochRecord.MeanPostClipGradientNorm"/></description></item>
/// <item><term><c>epoch/clipped_fraction</c>, <c>epoch/skipped_steps</c></term><description>what clipping did in the epoch</description></item>
/// <item><term><c>histogram/grad_p_norm_total</c></term><description>histogram of the epoch's pre-clip global norms, one value per step</description></item>
/// <item><term><c>histogram/grad_p_norm/&lt;group&gt;</c></term><description>per layer or parameter (when recorded): histogram of that group's norm over the epoch's steps</description></item>
/// </list>
/// <para>At step 0, the text <c>settings</c>: a table of the run's settings.</para>
/// <para><b>Why per-epoch histograms over steps.</b> The per-step curve of each layer's norm is already a scalar; what
/// it hides at a glance is how that norm was spread within an epoch (a few spikes or a broad shift), which is what a
/// histogram over the epoch's steps shows, one per layer, layer by layer comparable across epochs. A histogram across
/// layers at each step would mix layers whose norms differ by orders of magnitude, lose which layer is which, and cost
/// a histogram per step. Histograms hold the finite values only (a skipped step's norm may be NaN or ∞); scalars keep
/// NaN and ∞ as they are.</para>
/// <para><b>Cost.</b> Step values are written from <see cref="OnStepRecords"/>, in blocks of
/// <see cref="TrainingSettings.StepRecordBlockSize"/>, with no host synchronisation of their own and one file write per
/// block; wall times are each step's end (read in <see cref="OnAfterOptimizerStep"/>, a clock read). The file is
/// written directly, one record per step, rather than with TorchSharp's <c>SummaryWriter</c>, which opens and closes the
/// file for every value: on the seed-sized model (RNN 10→20, 5 classes, batch 32 × 20, one thread; the
/// <c>monitoring-benchmark</c> sample) this sink costs ≈ 7 µs of CPU a step, 0.4 % of the 1.9 ms step, where the same
/// scalars through <c>SummaryWriter</c> cost ≈ 140 µs, 7 %.</para>
/// <para>Each run (<see cref="OnTrainingStart"/>) starts a new event file in <see cref="Directory"/>, closed when
/// training ends or throws. TensorBoard merges every event file of a folder into one run: give each run its own folder
/// (e.g. one per fold) to see them apart. Values are stored as float32, TensorBoard's scalar type. A folder or file
/// that cannot be created or written makes the hook throw an <see cref="IOException"/>, which ends training like any
/// failing hook (see <see cref="TrainingCallback"/>); the file is closed all the same.</para>
/// </remarks>
public sealed class TensorBoardCallback : TrainingCallback
{
    private readonly Queue<(long Step, double WallTime)> _stepEnds = new();

    // Own writer, not TorchSharp's SummaryWriter: on the seed-sized model (monitoring-benchmark) SummaryWriter opens and closes the file per value, ~20 µs CPU × 7 values ≈ 7 % of a 1.9 ms step, over a 2 % budget (and writes Ticks / whole seconds as wall times); this file costs ≈ 7 µs, 0.4 %.
    private TensorBoardEventFile? _file;
    private string _norm = "";
    private string[] _stageTags = [];
    private string[] _groupTags = [];
    private int _epochFirstRecord;

    /// <summary>Creates the sink.</summary>
    /// <param name="directory">The folder of the event files (TensorBoard's run folder); created when training starts.</param>
    /// <exception cref="ArgumentException"><paramref name="directory"/> is null or blank.</exception>
    public TensorBoardCallback(string directory)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(directory);
        Directory = directory;
    }

    /// <summary>Gets the folder of the event files.</summary>
    public string Directory { get; }

    /// <summary>
    /// Gets the path of the event file of the current run, or of the last one after it ended; null before the first
    /// run. The name is <c>events.out.tfevents.&lt;unix seconds&gt;.&lt;host&gt;.&lt;process id&gt;.&lt;n&gt;</c>.
    /// </summary>
    public string? EventFilePath { get; private set; }

    /// <inheritdoc/>
    public override void OnTrainingStart(TrainingState state)
    {
        Close();
        _stepEnds.Clear();
        _norm = "grad_" + TensorBoardSummaries.NormTypeName(state.Settings.Clipping.NormType) + "_norm";
        _stageTags = [];
        _groupTags = state.Log.GroupNames.Select(name => _norm + "/" + name).ToArray();
        _file = new TensorBoardEventFile(Directory);
        EventFilePath = _file.Path;
        _file.Write(Event(0, TensorBoardEventFile.UnixNow(), [TensorBoardSummaries.Text("settings", TensorBoardSummaries.SettingsTable(state))]));
        _file.Flush();
    }

    /// <inheritdoc/>
    public override void OnEpochStart(TrainingState state) => _epochFirstRecord = state.Steps.Count;

    /// <inheritdoc/>
    public override void OnAfterOptimizerStep(TrainingState state, Clipping.GradientClipReport report)
    {
        if (_file is not null) _stepEnds.Enqueue((state.GlobalStep, TensorBoardEventFile.UnixNow()));
    }

    /// <inheritdoc/>
    public override void OnStepRecords(TrainingState state, IReadOnlyList<TrainingStepRecord> records)
    {
        if (_file is null) return;
        // Stage names are known once a step was applied (a skipped first step reports none).
        if (_stageTags.Length != state.Log.StageNames.Count) _stageTags = state.Log.StageNames.Select(name => "clip/coefficient/" + name).ToArray();
        foreach (var record in records)
        {
            var values = new List<Summary.Types.Value>(6 + _stageTags.Length + _groupTags.Length)
            {
                TensorBoardSummaries.Scalar("train/loss", record.Loss),
                TensorBoardSummaries.Scalar("train/learning_rate", record.LearningRate),
                TensorBoardSummaries.Scalar(_norm + "_total", record.PreClipNorm),
                TensorBoardSummaries.Scalar(_norm + "_total_post_clip", record.PostClipNorm),
                TensorBoardSummaries.Scalar("clip/clipped", record.Clipped ? 1 : 0),
                TensorBoardSummaries.Scalar("clip/skipped", record.Skipped ? 1 : 0),
            };
            for (var i = 0; i < Math.Min(_stageTags.Length, record.StageCoefficients.Count); i++)
                values.Add(TensorBoardSummaries.Scalar(_stageTags[i], record.StageCoefficients[i]));
            for (var i = 0; i < Math.Min(_groupTags.Length, record.GroupNorms.Count); i++)
                values.Add(TensorBoardSummaries.Scalar(_groupTags[i], record.GroupNorms[i]));
            _file.Write(Event(record.Step, StepEnd(record.Step), values));
        }

        _file.Flush();
    }

    /// <inheritdoc/>
    public override void OnEpochEnd(TrainingState state, EpochRecord record)
    {
        if (_file is null) return;
        var values = new List<Summary.Types.Value>
        {
            TensorBoardSummaries.Scalar("epoch", record.Epoch),
            TensorBoardSummaries.Scalar("epoch/training_loss", record.TrainingLoss),
        };
        if (record.ValidationLoss is double loss) values.Add(TensorBoardSummaries.Scalar("epoch/validation_loss", loss));
        if (record.ValidationMetric is double metric)
            values.Add(TensorBoardSummaries.Scalar("epoch/validation_" + TaskObjective.MetricName(state.Task).ToLowerInvariant(), metric));
        values.Add(TensorBoardSummaries.Scalar($"epoch/{_norm}_total_mean", record.MeanGradientNorm));
        values.Add(TensorBoardSummaries.Scalar($"epoch/{_norm}_total_median", record.MedianGradientNorm));
        values.Add(TensorBoardSummaries.Scalar($"epoch/{_norm}_total_p90", record.GradientNormPercentile90));
        values.Add(TensorBoardSummaries.Scalar($"epoch/{_norm}_total_p99", record.GradientNormPercentile99));
        values.Add(TensorBoardSummaries.Scalar($"epoch/{_norm}_total_max", record.MaximumGradientNorm));
        values.Add(TensorBoardSummaries.Scalar($"epoch/{_norm}_total_post_clip_mean", record.MeanPostClipGradientNorm));
        values.Add(TensorBoardSummaries.Scalar("epoch/clipped_fraction", record.ClippedFraction));
        values.Add(TensorBoardSummaries.Scalar("epoch/skipped_steps", record.SkippedSteps));

        var steps = state.Steps.Skip(_epochFirstRecord).ToArray();
        AddHistogram(values, $"histogram/{_norm}_total", steps.Select(s => s.PreClipNorm));
        for (var g = 0; g < _groupTags.Length; g++)
        {
            var group = g;
            AddHistogram(values, "histogram/" + _groupTags[g], steps.Where(s => group < s.GroupNorms.Count).Select(s => s.GroupNorms[group]));
        }

        _file.Write(Event(state.GlobalStep, TensorBoardEventFile.UnixNow(), values));
        _file.Flush();
    }

    /// <inheritdoc/>
    public override void OnTrainingEnd(TrainingState state, TrainingHistory history) => Close();

    /// <inheritdoc/>
    public override void OnException(TrainingState state, Exception exception) => Close();

    private static void AddHistogram(List<Summary.Types.Value> values, string tag, IEnumerable<double> data)
    {
        if (TensorBoardSummaries.Histogram(tag, data) is { } histogram) values.Add(histogram);
    }

    private static Event Event(long step, double wallTime, IEnumerable<Summary.Types.Value> values)
    {
        var summary = new Summary();
        summary.Value.Add(values);
        return new Event { Step = step, WallTime = wallTime, Summary = summary };
    }

    /// <summary>The wall time noted when <paramref name="step"/> ended; now, when a block was read before that hook ran.</summary>
    private double StepEnd(long step)
    {
        var wallTime = double.NaN;
        while (_stepEnds.TryPeek(out var end) && end.Step <= step)
        {
            _stepEnds.Dequeue();
            if (end.Step == step) wallTime = end.WallTime;
        }

        return double.IsNaN(wallTime) ? TensorBoardEventFile.UnixNow() : wallTime;
    }

    private void Close()
    {
        var file = _file;
        _file = null;
        file?.Dispose();
    }
}
