using System.Runtime.InteropServices;
using Xunit;
using static ClipTrainer.Tests.Build.ConsumerProjects;

namespace ClipTrainer.Tests.Build;

/// <summary>Runs alone, after the parallel part of the run: it drives a whole `dotnet build` on two shared cores.</summary>
[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class ConsumerBuildCollection
{
    public const string Name = "Out-of-tree consumer build";
}

/// <summary>
/// The native-load fix reaches a project outside this repository that references src/ClipTrainer/ClipTrainer.csproj by
/// path, with no step of its own: its build and publish outputs hold a libLibTorchSharp.so that loads. The consumer and
/// ClipTrainer are built into a temporary artifacts folder, so nothing of this repository's bin/ and obj/ is touched.
/// </summary>
[Collection(ConsumerBuildCollection.Name)]
public sealed class ProjectReferenceConsumerTests : IDisposable
{
    private readonly string _directory = Directory.CreateTempSubdirectory("cliptrainer-consumer-").FullName;

    public void Dispose() => Directory.Delete(_directory, recursive: true);

    [Fact]
    public void ProjectReferenceConsumer_BuildAndPublishOutputs_CarryTheFix_AndTorchSharpLoads()
    {
        if (!RuntimeInformation.IsOSPlatform(OSPlatform.Linux)) return;
        string clipTrainerProject = Path.Combine(RepositoryRoot(), "src", "ClipTrainer", "ClipTrainer.csproj");
        string consumer = Directory.CreateDirectory(Path.Combine(_directory, "Consumer")).FullName;
        File.WriteAllText(Path.Combine(consumer, "Consumer.csproj"), $"""
            <Project Sdk="Microsoft.NET.Sdk">
              <PropertyGroup>
                <OutputType>Exe</OutputType>
                <TargetFramework>net10.0</TargetFramework>
                <NoWarn>$(NoWarn);NU1603</NoWarn>
              </PropertyGroup>
              <ItemGroup>
                <ProjectReference Include="{clipTrainerProject}" />
              </ItemGroup>
            </Project>
            """);
        File.WriteAllText(Path.Combine(consumer, "Program.cs"), """
            using var sum = TorchSharp.torch.ones(3).sum();
            System.Console.WriteLine("sum=" + sum.item<float>());
            """);
        string artifacts = Path.Combine(_directory, "artifacts");
        string published = Path.Combine(_directory, "published");

        Dotnet(consumer, "build", "--artifacts-path", artifacts);
        Dotnet(consumer, "publish", "--no-build", "-c", "Debug", "--artifacts-path", artifacts, "-o", published);

        string native = Path.Combine("runtimes", "linux-x64", "native", LibraryName);
        AssertCarriesTheFix(Path.Combine(artifacts, "bin", "Consumer", "debug", native));
        AssertCarriesTheFix(Path.Combine(published, native));
        Assert.Contains("sum=3", Dotnet(published, "Consumer.dll"));
    }
}
