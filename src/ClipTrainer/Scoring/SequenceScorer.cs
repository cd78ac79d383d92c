using ClipTrainer.Data;
using ClipTrainer.Modeling;
using ClipTrainer.Training;
using TorchSharp;
using Microsoft.ML.Data;
using static TorchSharp.torch;

namespace ClipTrainer.Scoring;

/// <summary>Runs a fitted model on blocks of feature vectors and returns, per row, what the output columns read.</summary>
internal sealed class SequenceScorer
{
    /// <summary>Rows scored per forward pass by <see cref="ScoredDataView"/>'s cursors.</summary>
    public const int BlockSize = 256;

    private readonly nn.Module<Tensor, Tensor?, Tensor> _network;
    private readonly OutputColumns _outputs;
    private readonly int _inputSize;
    private readonly Device _device;
    private readonly object _gate = new(); // one forward at a time: PredictionEngines on several threads share the module
    private readonly long _parameterCount;
    private bool _released;

    public SequenceScorer(nn.Module<Tensor, Tensor?, Tensor> network, OutputColumns outputs, int inputSize, Device device)
    {
        _network = network;
        _outputs = outputs;
        _inputSize = inputSize;
        _device = device;
        _parameterCount = ThreadCountRule.ParameterCount(network);
    }

    /// <summary>Throws unless <paramref name="row"/> holds a positive multiple of the input size.</summary>
    /// <exception cref="InvalidOperationException">It does not; the message names the column, the row and the length.</exception>
    public void CheckRow(in VBuffer<float> row, long position, string featureColumnName)
    {
        if (!SequenceShapeArguments.FitsInputSize(row.Length, _inputSize))
            throw new InvalidOperationException(SequenceShapeArguments.RowLengthMessage($"Row {position} of feature column '{featureColumnName}'", row.Length, _inputSize));
    }

    /// <summary>Releases the network; scoring afterwards throws <see cref="ObjectDisposedException"/> naming the transformer.</summary>
    public void Release()
    {
        lock (_gate)
        {
            _released = true;
            _network.Dispose();
        }
    }

    /// <summary>
    /// The forward pass under the training loop's thread rule (<see cref="ThreadCountRule"/>) for this many rows, with
    /// libtorch's process-wide count given back afterwards, as training gives it back.
    /// </summary>
    private Tensor ForwardWithRuleThreads(Tensor features, Tensor? lengths, int rows)
    {
        var before = torch.get_num_threads();
        var wanted = ThreadCountRule.Choose(null, _parameterCount, rows, Environment.ProcessorCount) ?? before;
        if (wanted == before) return _network.forward(features, lengths);
        torch.set_num_threads(wanted);
        try
        {
            return _network.forward(features, lengths);
        }
        finally
        {
            torch.set_num_threads(before);
        }
    }

    /// <summary>
    /// The outputs of a block, row after row, <see cref="OutputColumns.ModelOutputSize"/> values a row: softmax
    /// probabilities (multiclass) or the single raw output (binary logit, regression value). One array a block, not one
    /// a row: the cursor serves each row as a segment of it.
    /// </summary>
    public float[] Score(IReadOnlyList<VBuffer<float>> rows)
    {
        if (rows.Count == 0) return [];
        lock (_gate)
        {
            ObjectDisposedException.ThrowIf(_released, typeof(SequenceTransformer));
            using var scope = NewDisposeScope();
            using var noGrad = no_grad();
            _network.eval();
            var (features, lengths) = SequenceTensorFactory.Create(rows, _inputSize, _device);
            var output = ForwardWithRuleThreads(features, lengths, rows.Count);
            if (_outputs.Task == SequenceTask.MulticlassClassification) output = nn.functional.softmax(output, -1);
            return output.to(ScalarType.Float32).cpu().data<float>().ToArray();
        }
    }
}
