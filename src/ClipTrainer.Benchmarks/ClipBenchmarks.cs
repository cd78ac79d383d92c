using BenchmarkDotNet.Attributes;
using ClipTrainer.Clipping;

namespace ClipTrainer.Benchmarks;

/// <summary>
/// One clip call on real gradients: ours (per-tensor and with <see cref="ContiguousGradients"/>), TorchSharp's
/// <c>clip_grad_norm_</c>, the lecture's per-parameter <c>.item()</c> sketch, and the local and value modes. The
/// threshold is far above the gradients' norm, so they keep their values and every call does the same work (c = 1 is
/// still multiplied in by ours and <c>clip_grad_norm_</c>; the lecture's sketch skips the multiplication then). The
/// quick mode instead restores the gradients before each call and clips them for real.
/// </summary>
[Config(typeof(InProcessConfig))]
public class ClipBenchmarks
{
    private BenchmarkModel _perTensor = null!;
    private BenchmarkModel _flat = null!;
    private ContiguousGradients _contiguous = null!;
    private double _threshold;
    private Action<BenchmarkModel> _global = null!;
    private Action<BenchmarkModel> _local = null!;
    private Action<BenchmarkModel> _layer = null!;
    private Action<BenchmarkModel> _value = null!;

    /// <summary>The model: the seed's SimpleRNN, LSTM 2×128 or LSTM 2×1024.</summary>
    [Params("seed-rnn", "lstm-2x128", "lstm-2x1024")]
    public string Model { get; set; } = "seed-rnn";

    [GlobalSetup]
    public void Setup()
    {
        Func<BenchmarkModel> create = Model switch
        {
            "lstm-2x128" => BenchmarkModel.Lstm128,
            "lstm-2x1024" => BenchmarkModel.Lstm1024,
            _ => BenchmarkModel.SeedRnn,
        };
        _perTensor = create();
        _flat = create();
        _contiguous = new ContiguousGradients(_flat.Named);
        _flat.TakeGradientsOf(_perTensor);
        _threshold = 1e12;
        _global = ClipMethods.Clipper(ClippingMode.GlobalNorm, _threshold);
        _local = ClipMethods.Clipper(ClippingMode.LocalNorm, _threshold);
        _layer = ClipMethods.Clipper(ClippingMode.LocalNorm, _threshold, LocalNormScope.Layer);
        _value = ClipMethods.Clipper(ClippingMode.Value, _threshold);
    }

    [GlobalCleanup]
    public void Cleanup()
    {
        _contiguous.Dispose();
        _flat.Dispose();
        _perTensor.Dispose();
    }

    [Benchmark(Baseline = true)]
    public void TorchSharpClipGradNorm() => ClipMethods.TorchSharpClipGradNorm(_perTensor, _threshold);

    [Benchmark]
    public void GlobalNorm() => _global(_perTensor);

    [Benchmark]
    public void GlobalNormContiguous() => _global(_flat);

    [Benchmark]
    public void LecturePerParameterItem() => ClipMethods.LecturePerParameterItem(_perTensor, _threshold);

    [Benchmark]
    public void LocalNormPerParameter() => _local(_perTensor);

    [Benchmark]
    public void LocalNormPerParameterContiguous() => _local(_flat);

    [Benchmark]
    public void LocalNormPerLayer() => _layer(_perTensor);

    [Benchmark]
    public void Value() => _value(_perTensor);
}
