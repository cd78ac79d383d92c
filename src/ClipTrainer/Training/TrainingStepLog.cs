using ClipTrainer.Clipping;
using static TorchSharp.torch;

namespace ClipTrainer.Training;

/// <summary>
/// The per-step records of a run: one row of float64 per step (loss, pre- and post-clip norm, clipped flag, one
/// coefficient per clip stage, the requested group norms). On a GPU the rows are kept on the device, written with a few
/// device ops and no synchronisation of their own, and <see cref="Flush"/> reads all pending rows in one host read. On
/// the CPU they are written on the host: a CPU kernel has finished when it returns, so reading a value synchronises
/// nothing, and the host values of the clip report (the global norm's path, and the local norm's on the CPU) then cost
/// no tensor operation at all.
/// </summary>
internal sealed class TrainingStepLog : IDisposable
{
    private const int FixedColumns = 4; // loss, pre-clip norm, post-clip norm, clipped
    private readonly int _blockSize;
    private readonly Device _device;
    private readonly GradientNormDetail _detail;
    private readonly double _normType;
    private readonly List<TrainingStepRecord> _records = [];
    private readonly List<(int Epoch, long Step, int StepInEpoch, bool Skipped, double LearningRate)> _pending = [];
    private readonly string[] _parameterNames;
    private IReadOnlyList<GradientGroup>? _layers;
    private Tensor? _buffer;
    private readonly bool _onHost;
    private double[] _hostRows = [];
    private int _stageCount = -1; // unknown until the first applied step: a skipped step reports no stages
    private int _bufferStages;

    public TrainingStepLog(int blockSize, Device device, GradientNormDetail detail, double normType, IReadOnlyList<string> parameterNames)
    {
        _blockSize = blockSize;
        _device = device;
        _onHost = device.type == TorchSharp.DeviceType.CPU;
        _detail = detail;
        _normType = normType;
        _parameterNames = parameterNames.ToArray();
        if (detail == GradientNormDetail.Layer)
        {
            _layers = GradientGrouping.ByLayer(parameterNames);
            GroupNames = _layers.Select(g => g.Name).ToArray();
        }
        else
        {
            GroupNames = detail == GradientNormDetail.Parameter ? parameterNames.ToArray() : [];
        }
    }

    /// <summary>Gets the records read to the host so far.</summary>
    public IReadOnlyList<TrainingStepRecord> Records => _records;

    /// <summary>Gets the names of the clip stages, known after the first applied step (<see cref="StagesKnown"/>).</summary>
    public IReadOnlyList<string> StageNames { get; private set; } = [];

    /// <summary>Gets whether the clip stages are known, that is whether a step was applied.</summary>
    public bool StagesKnown => _stageCount >= 0;

    /// <summary>Gets the names of the groups whose norms are recorded.</summary>
    public IReadOnlyList<string> GroupNames { get; }

    /// <summary>Gets whether a block is full and should be flushed.</summary>
    public bool IsFull => _pending.Count >= _blockSize;

    /// <summary>Gets whether rows wait to be read.</summary>
    public bool HasPending => _pending.Count > 0;

    /// <summary>Appends one step's row (on a GPU, device ops only). Returns the records flushed to make room, if any.</summary>
    public IReadOnlyList<TrainingStepRecord> Record(int epoch, long step, int stepInEpoch, double learningRate, Tensor loss, GradientClipReport report)
    {
        IReadOnlyList<TrainingStepRecord> flushed = [];
        if (_stageCount < 0 && !report.SkipStep)
        {
            flushed = Flush(); // rows of earlier skipped steps were written without stage columns
            _stageCount = report.Stages.Count;
            StageNames = UniqueNames(report.Stages.Select(s => s.RuleName));
            // A skipped step applies no coefficient: NaN, as for every later skipped step.
            for (var i = 0; i < _records.Count; i++)
            {
                if (_records[i].StageCoefficients.Count != _stageCount)
                    _records[i] = _records[i] with { StageCoefficients = Enumerable.Repeat(double.NaN, _stageCount).ToArray() };
            }
        }

        var stages = Math.Max(_stageCount, 0);
        if (_onHost)
        {
            WriteHostRow(loss, report, stages);
            _pending.Add((epoch, step, stepInEpoch, report.SkipStep, learningRate));
            return flushed;
        }

        if (_buffer is null || _bufferStages != stages)
        {
            _buffer?.Dispose();
            _buffer = zeros([_blockSize, FixedColumns + stages + GroupNames.Count], ScalarType.Float64, _device).DetachFromDisposeScope();
            _bufferStages = stages;
        }

        using var scope = NewDisposeScope();
        using var noGrad = no_grad();
        // One stack of the 0-d values (promoted to float64 as the buffer is): every tensor made here is a managed object
        // and a native handle per step, so the row takes no reshape or conversion of its own per value.
        var scalars = new Tensor[FixedColumns + stages];
        (scalars[0], scalars[1], scalars[2], scalars[3]) = (loss, report.TotalNormTensor, report.PostClipNormTensor, report.WasClippedTensor);
        for (var i = 0; i < stages; i++)
        {
            scalars[FixedColumns + i] = i < report.Stages.Count && report.Stages[i].CoefficientsTensor.numel() > 0
                ? report.Stages[i].CoefficientsTensor.min()
                : full(Array.Empty<long>(), double.NaN, ScalarType.Float64, _device);
        }

        var row = _buffer.select(0, _pending.Count);
        if (_detail == GradientNormDetail.None)
        {
            row.copy_(stack(scalars));
        }
        else
        {
            var norms = AllParameterNorms(report);
            row.copy_(cat([stack(scalars).to(ScalarType.Float64), _layers is null ? norms : GradientNorms.PerGroup(norms, _layers, _normType)], 0));
        }
        _pending.Add((epoch, step, stepInEpoch, report.SkipStep, learningRate));
        return flushed;
    }

    /// <summary>Reads every pending row in one host read and returns them as records (empty when none were pending).</summary>
    public IReadOnlyList<TrainingStepRecord> Flush()
    {
        if (_pending.Count == 0 || (_buffer is null && !_onHost)) return [];
        int width;
        double[] values;
        if (_onHost)
        {
            (width, values) = (FixedColumns + _bufferStages + GroupNames.Count, _hostRows);
        }
        else
        {
            width = (int)_buffer!.shape[1];
            using var rows = _buffer.narrow(0, 0, _pending.Count); // flushed outside a step's scope too: disposed here
            values = HostRead.Doubles(rows);
        }

        var block = new TrainingStepRecord[_pending.Count];
        for (var r = 0; r < block.Length; r++)
        {
            var row = values.AsSpan(r * width, width);
            var (epoch, step, stepInEpoch, skipped, learningRate) = _pending[r];
            block[r] = new TrainingStepRecord(epoch, step, stepInEpoch, row[0], row[1], row[2], row[3] > 0.5, skipped, learningRate,
                row.Slice(FixedColumns, _bufferStages).ToArray(), row.Slice(FixedColumns + _bufferStages).ToArray());
        }

        _pending.Clear();
        _records.AddRange(block);
        return block;
    }

    /// <summary>Writes one row on the host: host values of the report as they are, every other value read (on the CPU, no synchronisation).</summary>
    private void WriteHostRow(Tensor loss, GradientClipReport report, int stages)
    {
        var width = FixedColumns + stages + GroupNames.Count;
        if (_bufferStages != stages || _hostRows.Length != _blockSize * width)
        {
            _hostRows = new double[_blockSize * width]; // a new layout comes only after a flush (see Record)
            _bufferStages = stages;
        }

        var row = _hostRows.AsSpan(_pending.Count * width, width);
        row[0] = HostRead.Double(loss);
        row[1] = report.TotalNorm;
        row[2] = report.PostClipNorm;
        row[3] = report.WasClipped ? 1 : 0;
        for (var i = 0; i < stages; i++)
        {
            row[FixedColumns + i] = i < report.Stages.Count ? report.Stages[i].SmallestCoefficient : double.NaN;
        }

        if (_detail != GradientNormDetail.None)
        {
            using var scope = NewDisposeScope();
            using var noGrad = no_grad();
            var norms = AllParameterNorms(report);
            HostRead.Doubles(_layers is null ? norms : GradientNorms.PerGroup(norms, _layers, _normType)).CopyTo(row[(FixedColumns + stages)..]);
        }
    }

    /// <summary>Takes the records and the stage layout (null: no step applied yet) of a checkpoint, before the first step of a resumed run.</summary>
    public void Restore(IEnumerable<TrainingStepRecord> records, IReadOnlyList<string>? stageNames)
    {
        _records.Clear();
        _records.AddRange(records);
        _stageCount = stageNames?.Count ?? -1;
        StageNames = stageNames?.ToArray() ?? [];
    }

    public void Dispose() => _buffer?.Dispose();

    /// <summary>
    /// The pre-clip norm of every trainable parameter, in the log's order: the report measures only gradients that
    /// exist, so a parameter without one this step (an unused branch) gets 0, its contribution to any norm.
    /// </summary>
    private Tensor AllParameterNorms(GradientClipReport report)
    {
        var measured = report.ParameterNames;
        var norms = report.ParameterNormsTensor ?? throw new InvalidOperationException("The clipper did not measure the per-parameter norms.");
        if (measured.Count == _parameterNames.Length && measured.SequenceEqual(_parameterNames)) return norms;
        var positions = measured.Select(name => (long)Array.IndexOf(_parameterNames, name)).ToArray();
        return zeros(_parameterNames.Length, ScalarType.Float64, _device)
            .index_copy_(0, tensor(positions, device: _device), norms.to(_device));
    }

    private static string[] UniqueNames(IEnumerable<string> names)
    {
        var counts = new Dictionary<string, int>(StringComparer.Ordinal);
        var unique = new List<string>();
        foreach (var name in names)
        {
            var count = counts[name] = counts.GetValueOrDefault(name) + 1;
            unique.Add(count == 1 ? name : $"{name}#{count}");
        }

        return unique.ToArray();
    }
}
