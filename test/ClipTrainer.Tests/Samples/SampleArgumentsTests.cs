using ClipTrainer.Samples;
using ClipTrainer.Training;
using Xunit;

namespace ClipTrainer.Tests.Samples;

/// <summary>The samples' one argument parser and the callbacks of the <c>--out DIR</c> contract.</summary>
public class SampleArgumentsTests
{
    [Fact]
    public void Parse_ReadsOutVerboseAndNumbers_InAnyOrder()
    {
        var arguments = SampleArguments.Parse("demo", ["--epochs", "3", "--verbose", "--out", "some/dir"], SampleArguments.Epochs);

        Assert.Equal(Path.GetFullPath("some/dir"), arguments.OutputDirectory);
        Assert.True(arguments.IsVerbose);
        Assert.Equal(3, arguments.Number(SampleArguments.Epochs, 10));
    }

    [Fact]
    public void ParseWithText_ReadsWordOptions_AndRejectsAMissingName()
    {
        var arguments = SampleArguments.ParseWithText("compare", ["--task", "adding", "--seeds", "5"], [SampleArguments.Task], SampleArguments.Seeds);

        Assert.Equal("adding", arguments.Text(SampleArguments.Task, "other"));
        Assert.Equal(5, arguments.Number(SampleArguments.Seeds, 2));
        Assert.Equal("other", SampleArguments.ParseWithText("compare", [], [SampleArguments.Task]).Text(SampleArguments.Task, "other"));
        var e = Assert.Throws<SampleArgumentException>(() => SampleArguments.ParseWithText("compare", ["--task", "--seeds"], [SampleArguments.Task], SampleArguments.Seeds));
        Assert.Contains("--task needs a name, got '--seeds'", e.Message);
    }

    [Fact]
    public void Parse_KeepsTheDefaults_WithoutArguments()
    {
        var arguments = SampleArguments.Parse("demo", [], SampleArguments.Epochs);

        Assert.Null(arguments.OutputDirectory);
        Assert.False(arguments.IsVerbose);
        Assert.Equal(10, arguments.Number(SampleArguments.Epochs, 10));
    }

    [Theory]
    [InlineData(new[] { "--epochs", "0" }, "--epochs", "'0'")]
    [InlineData(new[] { "--epochs", "-3" }, "--epochs", "'-3'")]
    [InlineData(new[] { "--epochs", "two" }, "--epochs", "'two'")]
    [InlineData(new[] { "--epochs" }, "--epochs", "got nothing")]
    [InlineData(new[] { "--out" }, "--out", "got nothing")]
    [InlineData(new[] { "--out", "--verbose" }, "--out", "'--verbose'")]
    [InlineData(new[] { "--batches", "4" }, "'--batches'", "--epochs N")]
    [InlineData(new[] { "10" }, "'10'", "--out DIR")]
    public void Parse_Throws_NamingTheArgumentTheValueAndTheFix(string[] args, string argument, string value)
    {
        var exception = Assert.Throws<SampleArgumentException>(() => SampleArguments.Parse("demo", args, SampleArguments.Epochs));

        Assert.StartsWith("demo: ", exception.Message);
        Assert.Contains(argument, exception.Message);
        Assert.Contains(value, exception.Message);
        Assert.Contains("Fix:", exception.Message);
    }

    [Fact]
    public void ParseWithoutOutput_RejectsOut_ForSamplesThatWriteNoFiles()
    {
        var exception = Assert.Throws<SampleArgumentException>(() =>
            SampleArguments.ParseWithoutOutput("bench", ["--out", "x"], SampleArguments.Rounds));

        Assert.Contains("'--out'", exception.Message);
        Assert.DoesNotContain("--out DIR", exception.Message);
    }

    [Fact]
    public void ForSample_HandsOnVerbose_AndASubFolderPerSample()
    {
        var all = SampleArguments.Parse("all", ["--out", "runs", "--verbose"]);

        Assert.Equal(["--out", Path.Combine(Path.GetFullPath("runs"), "binary"), "--verbose"], all.ForSample("binary"));
        Assert.Empty(SampleArguments.Parse("all", []).ForSample("binary"));
    }

    [Fact]
    public void Callbacks_WriteHistoryFiles_AndGiveTheTensorBoardSinkItsSubFolder()
    {
        string? asked = null;
        var sink = new NoOpCallback();

        var callbacks = SampleOutput.Callbacks("run", folder => { asked = folder; return sink; });

        Assert.Equal(Path.Combine("run", SampleOutput.TensorBoardFolder), asked);
        Assert.Equal("run", Assert.IsType<HistoryFilesCallback>(callbacks[0]).Directory);
        Assert.Same(sink, callbacks[1]);
        Assert.Empty(SampleOutput.Callbacks(null, _ => sink));
    }

    private sealed class NoOpCallback : TrainingCallback;
}
