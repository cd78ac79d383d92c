using ClipTrainer.Clipping;
using Xunit;
using static TorchSharp.torch;

namespace ClipTrainer.Tests.Clipping;

/// <summary>Rules with state and weights: the Custom mode's factory, state export/import through clipper and chain.</summary>
public class ClippingRuleStateTests
{
    [Fact]
    public void Create_CustomMode_CallsTheFactoryOncePerClipper()
    {
        int made = 0;
        var options = new GradientClippingOptions { Mode = ClippingMode.Custom, RuleFactory = () => { made++; return new CountingRule(); } };

        var first = GradientClipper.Create(options);
        var second = GradientClipper.Create(options);

        Assert.Equal(2, made);
        Assert.NotSame(first.Rule, second.Rule);
    }

    [Fact]
    public void Validate_CustomModeWithoutFactory_ThrowsNamingRuleFactory()
    {
        var exception = Assert.Throws<ArgumentException>(() => new GradientClippingOptions { Mode = ClippingMode.Custom }.Validate());

        Assert.Equal(nameof(GradientClippingOptions.RuleFactory), exception.ParamName);
        Assert.Contains("no RuleFactory is set", exception.Message);
    }

    [Fact]
    public void Validate_FactoryUnderAnotherMode_ThrowsSayingToSetCustom()
    {
        var options = new GradientClippingOptions { Mode = ClippingMode.GlobalNorm, RuleFactory = () => new CountingRule() };

        var exception = Assert.Throws<ArgumentException>(options.Validate);

        Assert.Contains("set Mode = Custom", exception.Message);
    }

    [Fact]
    public void Clip_RuleSeesTheWeightsBesideTheGradients()
    {
        using var scope = NewDisposeScope();
        var rule = new CountingRule();
        var clipper = new GradientClipper(rule);
        var parameters = Parameters();

        using var report = clipper.Clip(parameters);

        Assert.Equal([[1f, -2f], [7f]], rule.LastWeights);
    }

    [Fact]
    public void ExportState_AfterThreeCalls_ImportedIntoANewClipperContinuesFromThere()
    {
        using var scope = NewDisposeScope();
        var clipper = GradientClipper.Create(new GradientClippingOptions { Mode = ClippingMode.Custom, RuleFactory = () => new CountingRule() });
        var parameters = Parameters();
        for (int i = 0; i < 3; i++) clipper.Clip(parameters).Dispose();

        var state = clipper.ExportState();
        var resumed = GradientClipper.Create(new GradientClippingOptions { Mode = ClippingMode.Custom, RuleFactory = () => new CountingRule() });
        resumed.ImportState(state);
        resumed.Clip(parameters).Dispose();

        Assert.Equal(["rule.calls", "skipped_steps"], state.Keys.Order());
        Assert.Equal(3L, state["rule.calls"].item<long>());
        Assert.Equal(4L, ((CountingRule)resumed.Rule).Calls);
    }

    [Fact]
    public void ExportState_Chain_PrefixesEachRulesStateWithItsPosition()
    {
        using var scope = NewDisposeScope();
        var chain = new ChainedClippingRule(new GlobalNormClippingRule(1.0), new CountingRule(), new CountingRule());
        var parameters = Parameters();
        var clipper = new GradientClipper(chain);
        clipper.Clip(parameters).Dispose();

        var state = chain.ExportState();
        var copy = new ChainedClippingRule(new GlobalNormClippingRule(1.0), new CountingRule(), new CountingRule());
        copy.ImportState(state);

        Assert.Equal(["1.calls", "2.calls"], state.Keys.Order());
        Assert.Equal(1L, ((CountingRule)copy.Rules[1]).Calls);
        Assert.Equal(1L, ((CountingRule)copy.Rules[2]).Calls);
    }

    [Fact]
    public void ImportState_KeyOfNoRule_ThrowsNamingIt()
    {
        using var scope = NewDisposeScope();
        var chain = new ChainedClippingRule(new CountingRule());

        var exception = Assert.Throws<ArgumentException>(() => chain.ImportState(new Dictionary<string, Tensor> { ["5.calls"] = tensor(1L) }));

        Assert.Contains("5.calls", exception.Message);
    }

    [Fact]
    public void ImportState_StatelessRuleGivenState_ThrowsNamingTheRule()
    {
        using var scope = NewDisposeScope();
        IGradientClippingRule rule = new GlobalNormClippingRule(1.0);

        var exception = Assert.Throws<ArgumentException>(() => rule.ImportState(new Dictionary<string, Tensor> { ["calls"] = tensor(1L) }));

        Assert.Contains("'GlobalNorm' keeps no state", exception.Message);
    }

    [Fact]
    public void Clip_RuleReadingNormsInItsOwnScopeAfterAGlobalRule_LeavesTheReportReadableAndRight()
    {
        using var scope = NewDisposeScope();
        var clipper = new GradientClipper(new ChainedClippingRule(new GlobalNormClippingRule(1.0), new ScopedReader()));
        var parameters = Parameters(); // gradients [3, 4] and [0.5]: norm √25.25

        using var report = clipper.Clip(parameters);

        Assert.Equal(Math.Sqrt(25.25), report.TotalNorm, 1e-9);
        Assert.Equal(1.0, report.PostClipNorm, 1e-6);
    }

    [Fact]
    public void Clip_RuleDisposingItsCoefficientAfterMarkScaled_StillReportsThePostClipNorm()
    {
        using var scope = NewDisposeScope();
        var clipper = new GradientClipper(new DisposingHalver());
        var parameters = Parameters();

        using var report = clipper.Clip(parameters);

        Assert.Equal(Math.Sqrt(25.25) / 2, report.PostClipNorm, 1e-9);
    }

    [Fact]
    public void MarkScaled_CoefficientsOfAnotherLength_ThrowsNamingTheCounts()
    {
        using var scope = NewDisposeScope();
        var parameters = Parameters();
        using var context = new GradientClipContext(["first", "second"], parameters.Select(p => p.Parameter.grad!).ToArray());

        var exception = Assert.Throws<ArgumentException>(() => context.MarkScaled(ones(3, ScalarType.Float64)));

        Assert.Contains("one per gradient (2), but got 3", exception.Message);
    }

    /// <summary>Reads the (lazily scaled) norms inside a dispose scope of its own, as library code is asked to.</summary>
    private sealed class ScopedReader : IGradientClippingRule
    {
        public string Name => "ScopedReader";

        public IReadOnlyList<GradientClipStage> Apply(GradientClipContext context)
        {
            using var inner = NewDisposeScope();
            _ = context.TotalNorm(2).item<double>();
            _ = context.TensorNorms(2).sum().item<double>();
            return [];
        }
    }

    /// <summary>Halves the gradients, tells the context, then disposes its coefficient.</summary>
    private sealed class DisposingHalver : IGradientClippingRule
    {
        public string Name => "DisposingHalver";

        public IReadOnlyList<GradientClipStage> Apply(GradientClipContext context)
        {
            using var half = tensor(0.5, ScalarType.Float64);
            foreach (var gradient in context.Gradients) gradient.mul_(half);
            context.MarkScaled(half);
            return [];
        }
    }

    /// <summary>Two parameters whose weights differ from their gradients.</summary>
    private static (string Name, TorchSharp.Modules.Parameter Parameter)[] Parameters()
    {
        var first = Gradients.With([3f, 4f]);
        var second = Gradients.With([0.5f]);
        using (no_grad())
        {
            first.copy_(tensor(new[] { 1f, -2f }));
            second.copy_(tensor(new[] { 7f }));
        }

        return Gradients.Named(("first", first), ("second", second));
    }

    /// <summary>A rule that clips nothing and counts its calls in a tensor: the smallest stateful rule.</summary>
    private sealed class CountingRule : IGradientClippingRule
    {
        public long Calls { get; private set; }
        public float[][] LastWeights { get; private set; } = [];
        public string Name => "Counting";

        public IReadOnlyList<GradientClipStage> Apply(GradientClipContext context)
        {
            Calls++;
            LastWeights = context.Weights!.Select(w => w.data<float>().ToArray()).ToArray();
            return [];
        }

        public Dictionary<string, Tensor> ExportState() => new() { ["calls"] = tensor(Calls).DetachFromDisposeScope() };

        public void ImportState(IReadOnlyDictionary<string, Tensor> state) => Calls = state["calls"].item<long>();
    }
}
