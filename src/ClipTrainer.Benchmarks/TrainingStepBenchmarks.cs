using BenchmarkDotNet.Attributes;
using ClipTrainer.Clipping;
using TorchSharp;
using static TorchSharp.torch;

namespace ClipTrainer.Benchmarks;

/// <summary>
/// One training step of LSTM 2×128 (batch 128 × 28 steps): zero the gradients, forward, loss, backward, clip, Adam
/// step; with TorchSharp's <c>clip_grad_norm_</c>, with our clipper, and with our clipper on contiguous gradients.
/// </summary>
[Config(typeof(InProcessConfig))]
public class TrainingStepBenchmarks
{
    private BenchmarkModel _model = null!;
    private BenchmarkModel _flat = null!;
    private ContiguousGradients _contiguous = null!;
    private optim.Optimizer _optimizer = null!;
    private optim.Optimizer _flatOptimizer = null!;
    private GradientClipper _clipper = null!;

    [GlobalSetup]
    public void Setup()
    {
        _model = BenchmarkModel.Lstm128();
        _flat = BenchmarkModel.Lstm128();
        _contiguous = new ContiguousGradients(_flat.Named);
        _optimizer = optim.Adam(_model.parameters(), 1e-3);
        _flatOptimizer = optim.Adam(_flat.parameters(), 1e-3);
        _clipper = GradientClipper.Create(new GradientClippingOptions { Mode = ClippingMode.GlobalNorm, Threshold = 1.0 });
    }

    [GlobalCleanup]
    public void Cleanup()
    {
        _optimizer.Dispose();
        _flatOptimizer.Dispose();
        _contiguous.Dispose();
        _flat.Dispose();
        _model.Dispose();
    }

    [Benchmark(Baseline = true)]
    public void WithClipGradNorm()
    {
        _optimizer.zero_grad();
        _model.Backward();
        nn.utils.clip_grad_norm_(_model.Parameters, 1.0);
        _optimizer.step();
    }

    [Benchmark]
    public void WithGradientClipper()
    {
        _optimizer.zero_grad();
        _model.Backward();
        _clipper.Clip(_model.Named).Dispose();
        _optimizer.step();
    }

    [Benchmark]
    public void WithGradientClipperContiguous()
    {
        _contiguous.ZeroGrad();
        _flat.Backward();
        _clipper.Clip(_flat.Named).Dispose();
        _flatOptimizer.step();
    }
}
