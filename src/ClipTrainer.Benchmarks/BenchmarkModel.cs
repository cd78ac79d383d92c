using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace ClipTrainer.Benchmarks;

/// <summary>
/// The models of issue 7's table: a recurrent layer and a linear head over its last step, with a fixed input batch,
/// real gradients from one backward pass, and a snapshot of them to restore before each timed clip call.
/// </summary>
internal sealed class BenchmarkModel : nn.Module<Tensor, Tensor>
{
    private readonly RNN? _rnn;
    private readonly LSTM? _lstm;
    private readonly Linear _head;
    private readonly Tensor _input;
    private readonly Tensor _labels;
    private Tensor[] _snapshot = [];

    private BenchmarkModel(string name, int inputSize, int hiddenSize, int layers, bool lstm, int batch, int steps) : base(name)
    {
        Title = name;
        if (lstm)
        {
            _lstm = nn.LSTM(inputSize, hiddenSize, numLayers: layers, batchFirst: true);
        }
        else
        {
            _rnn = nn.RNN(inputSize, hiddenSize, numLayers: layers, batchFirst: true);
        }

        _head = nn.Linear(hiddenSize, 5);
        RegisterComponents();
        using var generator = new Generator(seed: 7);
        _input = randn([batch, steps, inputSize], generator: generator).DetachFromDisposeScope();
        _labels = randint(0, 5, [batch], generator: generator).DetachFromDisposeScope();
    }

    /// <summary>The seed's SimpleRNN: nn.RNN(10, 20, batchFirst) + Linear(20, 5); 745 parameters in 6 tensors.</summary>
    public static BenchmarkModel SeedRnn() => Create("seed SimpleRNN", 10, 20, 1, lstm: false, batch: 32, steps: 20);

    /// <summary>LSTM 2×128 over 32 features + Linear(128, 5); 215,685 parameters in 10 tensors.</summary>
    public static BenchmarkModel Lstm128() => Create("LSTM 2x128", 32, 128, 2, lstm: true, batch: 128, steps: 28);

    /// <summary>LSTM 2×1024 over 32 features + Linear(1024, 5); 12.7M parameters in 10 tensors.</summary>
    public static BenchmarkModel Lstm1024() => Create("LSTM 2x1024", 32, 1024, 2, lstm: true, batch: 8, steps: 4);

    /// <summary>The row title in the quick table.</summary>
    public string Title { get; }

    public (string Name, Parameter Parameter)[] Named { get; private set; } = [];

    public Parameter[] Parameters { get; private set; } = [];

    public long ParameterCount => Parameters.Sum(p => p.numel());

    public override Tensor forward(Tensor input)
    {
        var output = _lstm is not null ? _lstm.call(input).Item1 : _rnn!.call(input, null).Item1;
        return _head.call(output[.., -1, ..]);
    }

    /// <summary>Forward, loss and backward on the fixed batch (gradients accumulate into what is there).</summary>
    public void Backward()
    {
        using var scope = NewDisposeScope();
        nn.functional.cross_entropy(call(_input), _labels).backward();
    }

    /// <summary>Keeps the current gradients as the values <see cref="Restore"/> writes back.</summary>
    public void Snapshot()
    {
        using var noGrad = no_grad();
        _snapshot = Parameters.Select(p => { using var g = p.grad!; return g.clone().DetachFromDisposeScope(); }).ToArray();
    }

    /// <summary>Writes the snapshot back into the gradients, in place (so views into a contiguous buffer stay views).</summary>
    public void Restore()
    {
        using var noGrad = no_grad();
        for (var i = 0; i < Parameters.Length; i++)
        {
            using var g = Parameters[i].grad!;
            g.copy_(_snapshot[i]);
        }
    }

    /// <summary>Copies another instance's gradient snapshot into this one (same architecture) and restores it.</summary>
    public void TakeGradientsOf(BenchmarkModel other)
    {
        _snapshot = other._snapshot.Select(s => s.clone().DetachFromDisposeScope()).ToArray();
        Restore();
    }

    private static BenchmarkModel Create(string name, int inputSize, int hiddenSize, int layers, bool lstm, int batch, int steps)
    {
        torch.random.manual_seed(7);
        var model = new BenchmarkModel(name, inputSize, hiddenSize, layers, lstm, batch, steps);
        model.Named = model.named_parameters().ToArray();
        model.Parameters = model.Named.Select(p => p.Item2).ToArray();
        model.Backward();
        model.Snapshot();
        return model;
    }

    protected override void Dispose(bool disposing)
    {
        if (disposing)
        {
            _input.Dispose();
            _labels.Dispose();
            foreach (var s in _snapshot)
            {
                s.Dispose();
            }
        }

        base.Dispose(disposing);
    }
}
