using ClipTrainer.Clipping;
using TorchSharp.Modules;
using Xunit;
using static TorchSharp.torch;

namespace ClipTrainer.Tests.Clipping;

/// <summary>
/// Gradients split into 3 in-process shards (each holds a contiguous slice of every flattened tensor, some slices
/// empty): the combined norms must equal the single-process norms and each shard's clipped slices the single-process
/// clipped gradients.
/// </summary>
public sealed class ShardedGradientNormsTests
{
    private const int ShardCount = 3;

    // Layers lstm[l0] (two tensors) and fc; the 2-element bias splits as 0 | 1 | 1 elements, so one slice is empty.
    private static readonly string[] Names = ["lstm.weight_ih_l0", "lstm.bias_ih_l0", "fc.weight"];
    private static readonly long[][] Shapes = [[40, 30], [2], [3, 5]];

    public static TheoryData<double> Orders => new() { 1, 2, double.PositiveInfinity, 1000 };

    [Theory]
    [MemberData(nameof(Orders))]
    public void PhasedCombination_EqualsSingleProcessNorms(double normType)
    {
        using var scope = NewDisposeScope();
        var full = MakeGradients();
        var shards = Shard(full);

        var perTensor = CombineInProcess(shards.Select(s => GradientNorms.PerTensor(s, normType)).ToArray(), normType);
        var total = CombineInProcess(shards.Select(s => GradientNorms.Total(s, normType)).ToArray(), normType);
        var groups = GradientGrouping.ByLayer(Names);

        AssertRelative(GradientNorms.PerTensor(full, normType), perTensor, 1e-6);
        AssertRelative(GradientNorms.Total(full, normType), total, 1e-6);
        AssertRelative(GradientNorms.PerGroup(GradientNorms.PerTensor(full, normType), groups, normType),
            GradientNorms.PerGroup(perTensor, groups, normType), 1e-6);
        Assert.True(double.IsFinite(total.item<double>()), "The combined norm must be finite (values up to ~10, p up to 1000).");
    }

    [Theory]
    [InlineData(ClippingMode.GlobalNorm, LocalNormScope.Parameter, 1.0)]
    [InlineData(ClippingMode.GlobalNorm, LocalNormScope.Parameter, 2.0)]
    [InlineData(ClippingMode.GlobalNorm, LocalNormScope.Parameter, double.PositiveInfinity)]
    [InlineData(ClippingMode.GlobalNorm, LocalNormScope.Parameter, 1000.0)]
    [InlineData(ClippingMode.LocalNorm, LocalNormScope.Parameter, 2.0)]
    [InlineData(ClippingMode.LocalNorm, LocalNormScope.Parameter, 1000.0)]
    [InlineData(ClippingMode.LocalNorm, LocalNormScope.Layer, 1.0)]
    [InlineData(ClippingMode.LocalNorm, LocalNormScope.Layer, double.PositiveInfinity)]
    public void ShardsClippedWithCombinedNorms_MatchTheSingleProcessClipper(ClippingMode mode, LocalNormScope localScope, double normType)
    {
        using var scope = NewDisposeScope();
        var full = MakeGradients();
        var shards = Shard(full);
        const double Threshold = 0.5; // below every norm here, so every coefficient is < 1
        var groups = localScope == LocalNormScope.Layer ? GradientGrouping.ByLayer(Names) : GradientGrouping.ByParameter(Names);

        if (mode == ClippingMode.GlobalNorm)
        {
            var total = CombineInProcess(shards.Select(s => GradientNorms.Total(s, normType)).ToArray(), normType);
            foreach (var shard in shards) GradientNorms.ClipWithNorm(shard, total, Threshold);
        }
        else
        {
            var perTensor = CombineInProcess(shards.Select(s => GradientNorms.PerTensor(s, normType)).ToArray(), normType);
            var groupNorms = GradientNorms.PerGroup(perTensor, groups, normType);
            foreach (var shard in shards) GradientNorms.ClipWithNorms(shard, groups, groupNorms, Threshold);
        }

        var parameters = Names.Zip(MakeGradients(), (name, g) => (name, WithGradient(g))).ToArray();
        using var report = GradientClipper.Create(new GradientClippingOptions
        {
            Mode = mode, Threshold = Threshold, NormType = normType, LocalScope = localScope,
        }).Clip(parameters);

        Assert.True(report.WasClipped);
        for (var t = 0; t < Names.Length; t++)
        {
            var reassembled = cat(shards.Select(s => s[t]).ToArray());
            Gradients.AssertClose(Gradients.Of(parameters[t].Item2), reassembled.data<float>().ToArray(), 1e-6, 1e-12);
        }
    }

    [Theory]
    [MemberData(nameof(Orders))]
    public void Combine_WithAnAllReduceAcrossThreads_GivesEveryShardTheSingleProcessTotal(double normType)
    {
        var reducer = new ThreadAllReduce(ShardCount);
        var results = new double[ShardCount];
        double expected;
        using (NewDisposeScope())
        {
            expected = GradientNorms.Total(MakeGradients(), normType).item<double>();
        }

        var threads = Enumerable.Range(0, ShardCount).Select(rank => new Thread(() =>
        {
            using var scope = NewDisposeScope();
            var local = GradientNorms.Total(Shard(MakeGradients())[rank], normType);
            results[rank] = ShardedGradientNorms.Combine(local, normType, (values, op) => reducer.AllReduce(rank, values, op)).item<double>();
        })).ToArray();
        foreach (var thread in threads) thread.Start();
        foreach (var thread in threads) Assert.True(thread.Join(TimeSpan.FromSeconds(30)), "A shard did not finish within 30 s.");

        foreach (var result in results) Gradients.AssertClose(expected, result, 1e-6);
    }

    [Fact]
    public void PowerSumsAndFinish_HandComputed()
    {
        // Shards with local norms 3 and 4 (p = 2): M = 4, s = 9/16 and 1, norm = 4·√(25/16) = 5. All-zero shards: 0.
        using var scope = NewDisposeScope();
        var scale = tensor(new double[] { 4, 0 });

        var sums = ShardedGradientNorms.PowerSums(tensor(new double[] { 3, 0 }), scale, 2)
            .add(ShardedGradientNorms.PowerSums(tensor(new double[] { 4, 0 }), scale, 2));

        Assert.Equal(new[] { 25.0 / 16, 0 }, sums.data<double>().ToArray());
        Assert.Equal(new[] { 5.0, 0 }, ShardedGradientNorms.Finish(scale, sums, 2).data<double>().ToArray());
        Assert.Equal(new[] { 4.0, 0 }, ShardedGradientNorms.Finish(scale, zeros(2, ScalarType.Float64), double.PositiveInfinity).data<double>().ToArray());
    }

    [Fact]
    public void PowerSums_ShapeMismatch_Throws()
    {
        using var scope = NewDisposeScope();

        var error = Assert.Throws<ArgumentException>(() => ShardedGradientNorms.PowerSums(zeros(3, ScalarType.Float64), zeros(2, ScalarType.Float64), 2));

        Assert.Equal("scale", error.ParamName);
        Assert.Contains("shape [3]", error.Message, StringComparison.Ordinal);
    }

    // What an engine does: max of the local norms, then the sum of the partial sums (here over in-process shards).
    private static Tensor CombineInProcess(Tensor[] localNorms, double normType)
    {
        var scale = stack(localNorms).amax([0]);
        var sums = stack(localNorms.Select(n => ShardedGradientNorms.PowerSums(n, scale, normType)).ToArray()).sum(dim: 0);
        return ShardedGradientNorms.Finish(scale, sums, normType);
    }

    private static Tensor[] MakeGradients()
    {
        // Values of up to ~±10: |g|^1000 overflows float64 unless scaled.
        var generator = new TorchSharp.torch.Generator(7);
        return Shapes.Select(shape => randn(shape, generator: generator).mul_(3)).ToArray();
    }

    // Shard r holds elements [r·n/3, (r+1)·n/3) of every flattened tensor (as views, so clipping a shard clips them).
    private static Tensor[][] Shard(Tensor[] full) => Enumerable.Range(0, ShardCount).Select(r => full.Select(g =>
    {
        var flat = g.reshape(-1);
        var n = flat.numel();
        var start = r * n / ShardCount;
        return flat.narrow(0, start, (r + 1) * n / ShardCount - start);
    }).ToArray()).ToArray();

    private static Parameter WithGradient(Tensor gradient)
    {
        var parameter = new Parameter(zeros_like(gradient), requires_grad: true);
        parameter.grad = gradient.clone();
        return parameter;
    }

    private static void AssertRelative(Tensor expected, Tensor actual, double tolerance)
    {
        var e = expected.data<double>().ToArray();
        var a = actual.reshape(-1).data<double>().ToArray();
        Assert.Equal(e.Length, a.Length);
        for (var i = 0; i < e.Length; i++) Gradients.AssertClose(e[i], a[i], tolerance);
    }

    /// <summary>An in-process all-reduce: every participant contributes, waits for all, reads the reduction.</summary>
    private sealed class ThreadAllReduce(int count)
    {
        private readonly Barrier _barrier = new(count);
        private readonly double[][] _contributions = new double[count][];

        public void AllReduce(int rank, Tensor values, ShardReduction op)
        {
            _contributions[rank] = values.data<double>().ToArray();
            _barrier.SignalAndWait();
            var reduced = Enumerable.Range(0, _contributions[rank].Length).Select(i => op == ShardReduction.Maximum
                ? _contributions.Max(c => c[i]) : _contributions.Sum(c => c[i])).ToArray();
            _barrier.SignalAndWait();
            values.copy_(tensor(reduced).reshape(values.shape));
        }
    }
}
