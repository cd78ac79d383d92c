using ClipTrainer.Data;
using ClipTrainer.Modeling;
using ClipTrainer.Training;
using Microsoft.ML;
using Microsoft.ML.Data;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace ClipTrainer.Benchmarks;

/// <summary>
/// One data-path comparison task of issue 7: synthetic multiclass sequences (uniform in [−1, 1], random labels, a fixed
/// seed) held once as the user's rows, with the ML.NET trainer's options and the hand-written TorchSharp loop's model
/// built from the same shape.
/// </summary>
internal sealed class DataPathTask
{
    private DataPathTask(string title, RecurrentCellType cell, int inputSize, int steps, int hidden, int layers, int classes, int batch, int rows)
    {
        (Title, Cell, InputSize, Steps, Hidden, Layers, Classes, Batch) = (title, cell, inputSize, steps, hidden, layers, classes, batch);
        var random = new Random(11);
        Rows = Enumerable.Range(0, rows).Select(_ => new Row
        {
            Features = Enumerable.Range(0, steps * inputSize).Select(_ => random.NextSingle() * 2 - 1).ToArray(),
            // LoadFromEnumerable reads a uint member of a key column as the 0-based class index (key = value + 1, and a value
            // ≥ Classes becomes the missing key 0, whose row the trainer skips): measured, so the values here are 0-based.
            Label = (uint)random.Next(classes),
        }).ToList();
    }

    /// <summary>The seed's SimpleRNN: 20 steps × 10 features, RNN 20, 5 classes, batch 32.</summary>
    public static DataPathTask SeedRnn(int rows) => new("seed SimpleRNN (RNN 20), 20 × 10, batch 32", RecurrentCellType.Rnn, 10, 20, 20, 1, 5, 32, rows);

    /// <summary>LSTM 2×128 on 28 × 28 sequences, 10 classes, batch 128.</summary>
    public static DataPathTask Lstm2x128(int rows) => new("LSTM 2x128, 28 × 28, batch 128", RecurrentCellType.Lstm, 28, 28, 128, 2, 10, 128, rows);

    /// <summary>LSTM 128 (one layer) on 28 × 28 sequences, 10 classes, batch 128: the peak-memory task.</summary>
    public static DataPathTask Lstm128(int rows) => new("LSTM 128, 28 × 28, batch 128", RecurrentCellType.Lstm, 28, 28, 128, 1, 10, 128, rows);

    public string Title { get; }
    public RecurrentCellType Cell { get; }
    public int InputSize { get; }
    public int Steps { get; }
    public int Hidden { get; }
    public int Layers { get; }
    public int Classes { get; }
    public int Batch { get; }

    /// <summary>The user's rows (features time-major, 0-based class indices in a key column).</summary>
    public List<Row> Rows { get; }

    public int BatchesPerEpoch => (Rows.Count + Batch - 1) / Batch;

    /// <summary>The rows as an <see cref="IDataView"/> with a known-size feature column and a key label.</summary>
    public IDataView DataView(MLContext mlContext)
    {
        var schema = SchemaDefinition.Create(typeof(Row));
        schema[nameof(Row.Features)].ColumnType = new VectorDataViewType(NumberDataViewType.Single, Steps * InputSize);
        schema[nameof(Row.Label)].ColumnType = new KeyDataViewType(typeof(uint), Classes);
        return mlContext.Data.LoadFromEnumerable(Rows, schema);
    }

    /// <summary>The trainer's options: one epoch, Adam at a constant rate, global L2 clipping (the default), 1 thread.</summary>
    public SequenceTrainerOptions Options(params TrainingCallback[] callbacks)
    {
        var options = new SequenceTrainerOptions
        {
            InputSize = InputSize, SequenceLength = Steps, CellType = Cell, HiddenSize = Hidden, NumberOfLayers = Layers,
            BatchSize = Batch, MaximumNumberOfEpochs = 1, LearningRate = 1e-3, Schedule = LearningRateSchedule.Constant,
            NumberOfThreads = 1,
        };
        foreach (var callback in callbacks) options.Callbacks.Add(callback);
        return options;
    }

    /// <summary>The rows as resident tensors, as a hand-written loop holds them: features [N, T, I] and 0-based labels.</summary>
    public (Tensor Features, Tensor Labels) Tensors()
    {
        var features = empty([Rows.Count, Steps, InputSize], ScalarType.Float32);
        var values = System.Runtime.InteropServices.MemoryMarshal.Cast<byte, float>(features.bytes);
        var width = Steps * InputSize;
        for (var r = 0; r < Rows.Count; r++) Rows[r].Features.CopyTo(values.Slice(r * width, width));
        var labels = tensor(Rows.Select(r => (long)r.Label).ToArray());
        return (features.DetachFromDisposeScope(), labels.DetachFromDisposeScope());
    }

    /// <summary>The trainer's first-epoch row order (same seed), so the hand-written loop runs the same batches.</summary>
    public long[] FirstEpochOrder() => SeededPermutation.Create(Rows.Count, new SequenceTrainerOptions().Seed, epoch: 1).Select(i => (long)i).ToArray();

    /// <summary>The hand-written model: the recurrent layer and a linear head on its last step (the trainer's LastStep pooling).</summary>
    public RawNet CreateRawNet() => new(this);

    /// <summary>
    /// The hand-written loop a user would write, one step at a time: per step a dispose scope, <c>index_select</c> of the
    /// batch rows, forward, cross entropy, backward, <c>clip_grad_norm_</c> at 1, Adam 1e-3. One place, so the timed loop,
    /// the peak-memory child and the paired step profile all run the same loop.
    /// </summary>
    public sealed class RawTraining : IDisposable
    {
        private readonly DataPathTask _task;
        private readonly RawNet _net;
        private readonly Parameter[] _parameters;
        private readonly optim.Optimizer _optimizer;

        public RawTraining(DataPathTask task)
        {
            _task = task;
            torch.manual_seed(1);
            _net = task.CreateRawNet();
            _parameters = _net.parameters().ToArray();
            _optimizer = optim.Adam(_parameters, 1e-3);
            _net.train();
        }

        /// <summary>
        /// Runs step <paramref name="step"/> of the epoch on the resident <paramref name="features"/> and
        /// <paramref name="labels"/> in <paramref name="order"/>; when <paramref name="marks"/> holds 4 elements, they get
        /// <see cref="System.Diagnostics.Stopwatch"/> timestamps after the batch, the backward, the clip and the optimizer step.
        /// </summary>
        public void Step(Tensor features, Tensor labels, Tensor order, int step, Span<long> marks)
        {
            using var scope = NewDisposeScope();
            var start = step * _task.Batch;
            var index = order.narrow(0, start, Math.Min(_task.Batch, _task.Rows.Count - start));
            var x = features.index_select(0, index);
            var y = labels.index_select(0, index);
            Mark(marks, 0);
            _optimizer.zero_grad();
            var loss = nn.functional.cross_entropy(_net.call(x), y);
            loss.backward();
            Mark(marks, 1);
            nn.utils.clip_grad_norm_(_parameters, 1.0);
            Mark(marks, 2);
            _optimizer.step();
            Mark(marks, 3);
        }

        public void Dispose()
        {
            _optimizer.Dispose();
            _net.Dispose();
        }

        private static void Mark(Span<long> marks, int at)
        {
            if (marks.Length > at) marks[at] = System.Diagnostics.Stopwatch.GetTimestamp();
        }
    }

    public sealed class Row
    {
        public float[] Features { get; set; } = [];

        public uint Label { get; set; }
    }

    public sealed class RawNet : nn.Module<Tensor, Tensor>
    {
        private readonly nn.Module<Tensor, Tensor> _recurrent;
        private readonly Linear _head;

        public RawNet(DataPathTask task) : base(nameof(RawNet))
        {
            _recurrent = task.Cell switch
            {
                RecurrentCellType.Rnn => new RecurrentOutput(nn.RNN(task.InputSize, task.Hidden, task.Layers, batchFirst: true)),
                _ => new RecurrentOutput(nn.LSTM(task.InputSize, task.Hidden, task.Layers, batchFirst: true)),
            };
            _head = nn.Linear(task.Hidden, task.Classes);
            RegisterComponents();
        }

        public override Tensor forward(Tensor input) => _head.call(_recurrent.call(input)[.., -1, ..]);
    }

    /// <summary>The output sequence of an RNN or LSTM (their call signatures differ).</summary>
    private sealed class RecurrentOutput : nn.Module<Tensor, Tensor>
    {
        private readonly RNN? _rnn;
        private readonly LSTM? _lstm;

        public RecurrentOutput(RNN rnn) : base("rnn") { _rnn = rnn; RegisterComponents(); }

        public RecurrentOutput(LSTM lstm) : base("lstm") { _lstm = lstm; RegisterComponents(); }

        public override Tensor forward(Tensor input) => _lstm is not null ? _lstm.call(input).Item1 : _rnn!.call(input, null).Item1;
    }
}
