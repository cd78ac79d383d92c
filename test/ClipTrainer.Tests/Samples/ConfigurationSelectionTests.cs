using ClipTrainer.Clipping;
using ClipTrainer.Experiments;
using ClipTrainer.Samples;
using Xunit;

namespace ClipTrainer.Tests.Samples;

/// <summary><c>compare --configurations</c>: names and prefixes pick rows of the default list; unknown names are refused.</summary>
public class ConfigurationSelectionTests
{
    private static readonly ClippingConfiguration[] All =
    [
        new("None", new GradientClippingOptions { Mode = ClippingMode.None }),
        new("GlobalNorm L2 ≤ 0.0433", new GradientClippingOptions { Mode = ClippingMode.GlobalNorm, Threshold = 0.0433 }),
        new("GlobalNorm L1 ≤ 0.821", new GradientClippingOptions { Mode = ClippingMode.GlobalNorm, Threshold = 0.821, NormType = 1 }),
        new("GlobalNorm L∞ ≤ 0.0186", new GradientClippingOptions { Mode = ClippingMode.GlobalNorm, Threshold = 0.0186, NormType = double.PositiveInfinity }),
        new("LocalNorm per parameter ≤ 0.00844", new GradientClippingOptions { Mode = ClippingMode.LocalNorm, Threshold = 0.00844 }),
        new("Value ±0.0186", new GradientClippingOptions { Mode = ClippingMode.Value, Threshold = 0.0186 }),
        new("AutoClip (default options)", new GradientClippingOptions { Mode = ClippingMode.AutoClip }),
    ];

    private static string[] Names(string list) => ConfigurationSelection.Select(All, list).Select(c => c.Name).ToArray();

    [Fact]
    public void Select_TakesPrefixesCaseInsensitively_InTheDefaultOrder()
    {
        Assert.Equal(["None", "GlobalNorm L∞ ≤ 0.0186", "AutoClip (default options)"], Names("autoclip, globalnorm l∞,NONE"));
    }

    [Fact]
    public void Select_TakesAnExactName_AndAPrefixMatchingSeveral()
    {
        Assert.Equal(["Value ±0.0186"], Names("Value ±0.0186"));
        Assert.Equal(["GlobalNorm L2 ≤ 0.0433", "GlobalNorm L1 ≤ 0.821", "GlobalNorm L∞ ≤ 0.0186"], Names("GlobalNorm"));
        Assert.Equal(["GlobalNorm L2 ≤ 0.0433"], Names("GlobalNorm L2,GlobalNorm L2 ≤ 0.0433")); // named twice, listed once
    }

    [Theory]
    [InlineData("None,Clipped", "'Clipped'")]
    [InlineData("LocalNorm per layer", "'LocalNorm per layer'")]
    [InlineData("GlobalNorm L2 ≤ 0.05", "'GlobalNorm L2 ≤ 0.05'")]
    [InlineData(" , ", "at least one name")]
    public void Select_RefusesUnknownNames_ListingTheValidOnes(string list, string fragment)
    {
        var e = Assert.Throws<SampleArgumentException>(() => ConfigurationSelection.Select(All, list));

        Assert.Contains("--configurations", e.Message);
        Assert.Contains(fragment, e.Message);
        Assert.Contains("None; GlobalNorm L2 ≤ 0.0433; GlobalNorm L1 ≤ 0.821; GlobalNorm L∞ ≤ 0.0186; LocalNorm per parameter ≤ 0.00844; Value ±0.0186; AutoClip (default options)", e.Message);
    }

    [Fact]
    public void ParseArguments_ReadsConfigurations_AndRefusesAMissingList()
    {
        var arguments = CompareCommand.ParseArguments(["--task", "adding", "--configurations", "None,GlobalNorm L2", "--seeds", "5"]);

        Assert.Equal("None,GlobalNorm L2", arguments.Text(ConfigurationSelection.Option, ""));
        Assert.Equal(5, arguments.Number(SampleArguments.Seeds, 2));
        var e = Assert.Throws<SampleArgumentException>(() => CompareCommand.ParseArguments(["--configurations"]));
        Assert.Contains("--configurations needs a name after it", e.Message);
    }

    [Fact]
    public void ParseArguments_ReadsChrono_AndRefusesANonNumber()
    {
        Assert.Equal(200, CompareCommand.ParseArguments(["--task", "adding", "--chrono", "200"]).Number(CompareCommand.Chrono, 0));
        Assert.Equal(0, CompareCommand.ParseArguments(["--task", "adding"]).Number(CompareCommand.Chrono, 0)); // off unless given

        var e = Assert.Throws<SampleArgumentException>(() => CompareCommand.ParseArguments(["--chrono", "long"]));
        Assert.Contains("--chrono", e.Message);
    }
}
