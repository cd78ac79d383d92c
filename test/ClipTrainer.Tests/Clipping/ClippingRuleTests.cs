using ClipTrainer.Clipping;
using Xunit;

namespace ClipTrainer.Tests.Clipping;

public sealed class ClippingRuleTests
{
    [Fact]
    public void Create_BuildsGlobalThenLocal_AsAChainOfTheTwoRules()
    {
        var clipper = GradientClipper.Create(new GradientClippingOptions
        {
            Mode = ClippingMode.GlobalThenLocal, Threshold = 2, LocalThreshold = 0.5, NormType = 1, LocalScope = LocalNormScope.Layer,
        });

        var chain = Assert.IsType<ChainedClippingRule>(clipper.Rule);
        var global = Assert.IsType<GlobalNormClippingRule>(chain.Rules[0]);
        var local = Assert.IsType<LocalNormClippingRule>(chain.Rules[1]);
        Assert.Equal((2.0, 1.0), (global.Threshold, global.NormType));
        Assert.Equal((0.5, 1.0, LocalNormScope.Layer), (local.Threshold, local.NormType, local.Scope));
    }

    [Fact]
    public void Clipper_AcceptsAnyComposition_ValueThenGlobal()
    {
        // Value 1 turns [3, 4] into [1, 1] (norm √2); global 1 then scales it to [1/√2, 1/√2].
        var p = Gradients.With([3, 4]);
        var clipper = new GradientClipper(new ChainedClippingRule(new ValueClippingRule(1), new GlobalNormClippingRule(1)));

        using var report = clipper.Clip([("p", p)]);

        var x = (float)(1 / Math.Sqrt(2));
        Gradients.AssertClose([x, x], Gradients.Of(p), 1e-5);
        Assert.Equal(["Value", "GlobalNorm"], report.Stages.Select(s => s.RuleName));
        Gradients.AssertClose(Math.Sqrt(2), report.GroupNorms.Single(), 1e-7);
    }

    [Fact]
    public void ChainedClippingRule_Throws_WhenEmpty()
    {
        Assert.Throws<ArgumentException>(() => new ChainedClippingRule());
    }

    [Theory]
    [InlineData(double.NaN)]
    [InlineData(0.0)]
    [InlineData(double.PositiveInfinity)]
    public void Rules_Throw_WhenThresholdIsInvalid(double threshold)
    {
        Assert.Equal("threshold", Assert.Throws<ArgumentOutOfRangeException>(() => new GlobalNormClippingRule(threshold)).ParamName);
        Assert.Equal("threshold", Assert.Throws<ArgumentOutOfRangeException>(() => new LocalNormClippingRule(threshold)).ParamName);
        Assert.Equal("clipValue", Assert.Throws<ArgumentOutOfRangeException>(() => new ValueClippingRule(threshold)).ParamName);
    }

    [Theory]
    [InlineData(LocalNormScope.Layer, new[] { "a", "b" }, new[] { 5.0, 10.0 })]
    [InlineData(LocalNormScope.Parameter, new[] { "a.weight", "b.weight", "b.bias" }, new[] { 5.0, 10.0, 0.0 })]
    public void LocalNormClippingRule_OneRuleOnTwoModels_GroupsEachByItsOwnNames(LocalNormScope scope, string[] groups, double[] norms)
    {
        // The rule keeps its grouping between calls; a model with other names (same count) must be grouped afresh.
        var shared = new GradientClipper(new LocalNormClippingRule(1.0, scope: scope));
        using (shared.Clip(FirstModel())) { }

        using var again = shared.Clip(SecondModel(out var weight, out var other));
        using var fresh = new GradientClipper(new LocalNormClippingRule(1.0, scope: scope)).Clip(SecondModel(out var freshWeight, out var freshOther));
        using var back = shared.Clip(FirstModel());

        Assert.Equal(groups, again.GroupNames);
        Assert.Equal(norms, again.GroupNorms);
        Assert.Equal(fresh.GroupNames, again.GroupNames);
        Assert.Equal(Gradients.Of(freshWeight), Gradients.Of(weight));
        Assert.Equal(Gradients.Of(freshOther), Gradients.Of(other));
        Assert.Equal(scope == LocalNormScope.Layer ? ["fc", "out"] : ["fc.weight", "fc.bias", "out.weight"], back.GroupNames);
    }

    // fc = {[3, 4], [0]} (norm 5), out = {[0, 12]} (norm 12).
    private static (string, TorchSharp.Modules.Parameter)[] FirstModel() =>
        [("fc.weight", Gradients.With([3, 4])), ("fc.bias", Gradients.With([0])), ("out.weight", Gradients.With([0, 12]))];

    // a = {[3, 4]} (norm 5), b = {[6, 8], [0]} (norm 10): as many parameters as the first model, grouped otherwise.
    private static (string, TorchSharp.Modules.Parameter)[] SecondModel(out TorchSharp.Modules.Parameter weight, out TorchSharp.Modules.Parameter other)
    {
        weight = Gradients.With([3, 4]);
        other = Gradients.With([6, 8]);
        return [("a.weight", weight), ("b.weight", other), ("b.bias", Gradients.With([0]))];
    }
}
