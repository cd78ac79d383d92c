using BenchmarkDotNet.Configs;
using BenchmarkDotNet.Jobs;
using BenchmarkDotNet.Toolchains.InProcess.Emit;

namespace ClipTrainer.Benchmarks;

/// <summary>
/// Runs benchmarks inside this process: the native libraries (and their load fix) are already in place here, whereas
/// a generated project would have to be built and patched again; one libtorch thread, as in the quick mode.
/// </summary>
internal sealed class InProcessConfig : ManualConfig
{
    public InProcessConfig()
    {
        AddJob(Job.Default.WithToolchain(InProcessEmitToolchain.Instance));
        TorchSharp.torch.set_num_threads(1);
    }
}
