using System.Diagnostics;
using System.Globalization;
using ClipTrainer.Clipping;
using ClipTrainer.Modeling;
using TorchSharp;
using static TorchSharp.torch;

namespace ClipTrainer.Samples;

/// <summary>
/// Benchmark: what one clip call costs per mode on the gradients of an LSTM (input 10, hidden 64, 5 outputs; the
/// gradients as the training loop keeps them, views of one <see cref="ContiguousGradients"/> buffer), every mode with
/// its default options, one libtorch thread. Rounds are interleaved (every mode once per round); the median per call
/// is printed with the ratio to <see cref="ClippingMode.GlobalNorm"/> and the machine's load.
/// </summary>
/// <remarks>Arguments: <c>--rounds N</c> (default 5), <c>--steps N</c> (calls per mode and round, default 2,000).</remarks>
internal static class AdaptiveClippingBenchmark
{
    public const string Name = "adaptive-benchmark";

    private static readonly ClippingMode[] Modes =
        [ClippingMode.None, ClippingMode.GlobalNorm, ClippingMode.LocalNorm, ClippingMode.AutoClip, ClippingMode.AdaptiveGradientClipping, ClippingMode.ZClip];

    public static void Run(string[] args)
    {
        var arguments = SampleArguments.ParseWithoutOutput(Name, args, SampleArguments.Rounds, SampleArguments.Steps);
        int rounds = arguments.Number(SampleArguments.Rounds, 5), calls = arguments.Number(SampleArguments.Steps, 2000);
        int threads = torch.get_num_threads();
        torch.set_num_threads(1);
        try
        {
            using var model = SequenceModel.Create(new SequenceModelOptions { InputSize = 10, HiddenSize = 64, OutputSize = 5, CellType = RecurrentCellType.Lstm }, seed: 1);
            using (var scope = NewDisposeScope())
            {
                var output = model.forward(randn(32, 20, 10), null);
                output.square().mean().backward();
            }

            using var contiguous = new ContiguousGradients(model);
            var parameters = model.named_parameters().ToArray();
            var clippers = Modes.ToDictionary(m => m, m => GradientClipper.Create(new GradientClippingOptions { Mode = m }));
            var times = Modes.ToDictionary(m => m, _ => new List<double>());
            for (int round = 0; round < rounds; round++)
            {
                foreach (var mode in Modes)
                {
                    var watch = Stopwatch.StartNew();
                    for (int i = 0; i < calls; i++) clippers[mode].Clip(parameters).Dispose();
                    times[mode].Add(watch.Elapsed.TotalMicroseconds / calls);
                }
            }

            double Median(List<double> v) => v.Order().ElementAt(v.Count / 2);
            var global = Median(times[ClippingMode.GlobalNorm]);
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"{Name}: LSTM 10→64→5 ({parameters.Length} tensors), 1 libtorch thread, {rounds} interleaved rounds × {calls} calls, load {string.Join(' ', File.ReadAllText("/proc/loadavg").Split(' ').Take(3))}"));
            Console.WriteLine($"{"mode",-26} {"µs per clip",12} {"× GlobalNorm",13}");
            foreach (var mode in Modes)
                Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"{mode,-26} {Median(times[mode]),12:F1} {Median(times[mode]) / global,13:F2}"));
        }
        finally
        {
            torch.set_num_threads(threads);
        }
    }
}
