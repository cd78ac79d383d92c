using ClipTrainer.Modeling;
using Xunit;

namespace ClipTrainer.Tests.Modeling;

public class SequenceModuleRegistryTests
{
    private static readonly SequenceModuleFactory Other = request => new ConvolutionTestModule(request.InputSize, 2, request.OutputSize);

    [Fact]
    public void IsRegistered_BuiltInRecurrentModel_IsAlwaysRegistered()
    {
        Assert.True(SequenceModuleRegistry.IsRegistered("ClipTrainer.Recurrent"));
        Assert.Contains("ClipTrainer.Recurrent", SequenceModuleRegistry.Names);
        Assert.False(SequenceModuleRegistry.IsRegistered("tests.never-registered"));
    }

    [Fact]
    public void Register_SameDelegateTwice_IsAccepted()
    {
        ConvolutionTestModule.EnsureRegistered();
        ConvolutionTestModule.EnsureRegistered();

        Assert.True(SequenceModuleRegistry.IsRegistered(ConvolutionTestModule.Name));
    }

    [Fact]
    public void Register_AnotherFactoryUnderATakenName_ThrowsNamingIt()
    {
        ConvolutionTestModule.EnsureRegistered();

        var exception = Assert.Throws<ArgumentException>(() => SequenceModuleRegistry.Register(ConvolutionTestModule.Name, Other));

        Assert.Equal("name", exception.ParamName);
        Assert.Contains($"'{ConvolutionTestModule.Name}'", exception.Message);
    }

    [Theory]
    [InlineData("")]
    [InlineData("  ")]
    public void Register_BlankName_Throws(string name) =>
        Assert.Throws<ArgumentException>(() => SequenceModuleRegistry.Register(name, Other));
}
