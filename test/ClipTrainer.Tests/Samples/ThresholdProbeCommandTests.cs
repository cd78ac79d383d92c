using ClipTrainer.Samples;
using Xunit;

namespace ClipTrainer.Tests.Samples;

/// <summary>The <c>probe</c> command on a sample task: its printed report and its argument errors.</summary>
[Collection(TorchSharpTrainingCollection.Name)]
public class ThresholdProbeCommandTests
{
    [Fact]
    public void Run_RegressionTaskThreeSteps_PrintsTheHeaderAndTheTable()
    {
        var original = Console.Out;
        using var output = new StringWriter();
        Console.SetOut(output);
        try
        {
            ThresholdProbeCommand.Run(["--task", "regression", "--steps", "3"]);
        }
        finally
        {
            Console.SetOut(original);
        }

        var lines = output.ToString().Split('\n');
        Assert.StartsWith("probe: task regression, 3 steps, 1 libtorch thread, load ", lines[0]);
        Assert.Equal("Gradient-norm probe: 3 steps without clipping, p = 2", lines[1].TrimEnd());
        Assert.Contains(lines, l => l.StartsWith("| Suggested GlobalNorm threshold (1 × mean, Pascanu et al. 2013) | ", StringComparison.Ordinal));
    }

    [Fact]
    public void Probe_BinaryTask_RunsTheStepsAskedForWithoutClipping()
    {
        var report = ThresholdProbeCommand.Probe("binary", 2);

        Assert.Equal(2, report.Steps);
        Assert.All(report.Norms, n => Assert.True(n > 0 && double.IsFinite(n), $"norm {n}"));
        Assert.Equal(LocalNormScopeOfTheBinarySample, report.LocalScope);
    }

    private const ClipTrainer.Clipping.LocalNormScope LocalNormScopeOfTheBinarySample = ClipTrainer.Clipping.LocalNormScope.Parameter;

    [Theory]
    [InlineData("nope")]
    [InlineData(null)]
    public void Run_UnknownOrMissingTask_ThrowsNamingTheTasks(string? task)
    {
        string[] args = task is null ? ["--task"] : ["--task", task];

        var error = Assert.Throws<SampleArgumentException>(() => ThresholdProbeCommand.Run(args));

        Assert.Contains("--task needs one of seed-pipeline, multiclass, binary, regression", error.Message);
    }
}
