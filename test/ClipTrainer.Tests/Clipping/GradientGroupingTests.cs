using ClipTrainer.Clipping;
using Xunit;

namespace ClipTrainer.Tests.Clipping;

public sealed class GradientGroupingTests
{
    [Theory]
    [InlineData("fc.weight", "fc")]
    [InlineData("fc.bias", "fc")]
    [InlineData("encoder.layers.0.linear.weight", "encoder.layers.0.linear")]
    [InlineData("weight", "(root)")]
    [InlineData("lstm.weight_ih_l0", "lstm[l0]")]
    [InlineData("lstm.weight_hh_l0_reverse", "lstm[l0]")]
    [InlineData("lstm.bias_hh_l12", "lstm[l12]")]
    [InlineData("lstm.weight_hr_l1", "lstm[l1]")]
    [InlineData("weight_ih_l1", "(root)[l1]")]
    [InlineData("net.weight_l0_extra", "net")]
    [InlineData("net.scale_ih_l0", "net")]
    public void LayerName_FollowsModuleThenRecurrentLayerRule(string parameterName, string expected)
    {
        Assert.Equal(expected, GradientGrouping.LayerName(parameterName));
    }

    [Fact]
    public void ByLayer_GroupsTwoLayerBidirectionalLstm_ByLayerIndexWithBothDirections()
    {
        string[] names =
        [
            "lstm.weight_ih_l0", "lstm.weight_hh_l0", "lstm.bias_ih_l0", "lstm.bias_hh_l0",
            "lstm.weight_ih_l0_reverse", "lstm.weight_hh_l0_reverse", "lstm.bias_ih_l0_reverse", "lstm.bias_hh_l0_reverse",
            "lstm.weight_ih_l1", "lstm.weight_hh_l1", "lstm.bias_ih_l1", "lstm.bias_hh_l1",
            "lstm.weight_ih_l1_reverse", "lstm.weight_hh_l1_reverse", "lstm.bias_ih_l1_reverse", "lstm.bias_hh_l1_reverse",
            "fc.weight", "fc.bias",
        ];

        var groups = GradientGrouping.ByLayer(names);

        Assert.Equal(["lstm[l0]", "lstm[l1]", "fc"], groups.Select(g => g.Name));
        Assert.Equal([0, 1, 2, 3, 4, 5, 6, 7], groups[0].Members);
        Assert.Equal([8, 9, 10, 11, 12, 13, 14, 15], groups[1].Members);
        Assert.Equal([16, 17], groups[2].Members);
    }

    [Fact]
    public void ByLayer_KeepsOrderOfFirstAppearance_WhenLayersInterleave()
    {
        var groups = GradientGrouping.ByLayer(["b.weight", "a.weight", "b.bias"]);

        Assert.Equal(["b", "a"], groups.Select(g => g.Name));
        Assert.Equal([0, 2], groups[0].Members);
        Assert.Equal([1], groups[1].Members);
    }

    [Fact]
    public void ByParameter_MakesOneGroupPerName()
    {
        var groups = GradientGrouping.ByParameter(["x.weight", "x.bias"]);

        Assert.Equal(["x.weight", "x.bias"], groups.Select(g => g.Name));
        Assert.Equal([0], groups[0].Members);
        Assert.Equal([1], groups[1].Members);
    }

    [Fact]
    public void GradientGroup_Throws_WhenEmpty()
    {
        var error = Assert.Throws<ArgumentException>(() => new GradientGroup("g", []));

        Assert.Equal("members", error.ParamName);
    }
}
