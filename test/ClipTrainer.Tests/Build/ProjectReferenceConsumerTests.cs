using System.Diagnostics;
using System.Runtime.InteropServices;
using System.Text;
using ClipTrainer.Build;
using Xunit;

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
    private const string LibraryName = "libLibTorchSharp.so";
    private static readonly TimeSpan CommandTimeout = TimeSpan.FromMinutes(5);
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

    private static void AssertCarriesTheFix(string library)
    {
        Assert.True(File.Exists(library), $"{library} is missing.");
        byte[] original = File.ReadAllBytes(PackageLibrary());
        byte[] output = File.ReadAllBytes(library);
        if (LoadedLibstdcxx.Defines("GLIBCXX_3.4.32"))
        {
            Assert.Equal(original, output);
            return;
        }
        var anchor = ElfVersionNeeds.ReadVersionNeeds(output).Single(n => n.Version == "GLIBCXX_3.4.32");
        Assert.True(anchor.IsWeak, $"GLIBCXX_3.4.32 is not weak in {library}: the fix did not reach the consumer.");
        Assert.Equal(original.Length, output.Length);
        var changed = Enumerable.Range(0, original.Length).Where(i => original[i] != output[i]).ToList();
        Assert.Equal(new[] { (int)anchor.FlagsOffset }, changed);
    }

    private static string RepositoryRoot()
    {
        for (var directory = new DirectoryInfo(AppContext.BaseDirectory); directory != null; directory = directory.Parent)
        {
            if (File.Exists(Path.Combine(directory.FullName, "ClipTrainer.sln"))) return directory.FullName;
        }
        throw new InvalidOperationException($"No ClipTrainer.sln above {AppContext.BaseDirectory}.");
    }

    private static string PackageLibrary()
    {
        var version = typeof(TorchSharp.torch).Assembly.GetName().Version!;
        string packages = Environment.GetEnvironmentVariable("NUGET_PACKAGES")
            ?? Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), ".nuget", "packages");
        return Path.Combine(packages, "torchsharp", $"{version.Major}.{version.Minor}.{version.Build}",
            "runtimes", "linux-x64", "native", LibraryName);
    }

    /// <summary>Runs the dotnet CLI and returns its output; fails the test, with that output, on a non-zero exit.</summary>
    private static string Dotnet(string workingDirectory, params string[] arguments)
    {
        var start = new ProcessStartInfo(DotnetHost())
        {
            WorkingDirectory = workingDirectory,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        };
        foreach (string argument in arguments) start.ArgumentList.Add(argument);
        bool isBuild = arguments[0] is "build" or "publish";
        if (isBuild)
        {
            // No build server or node may outlive the command (they would hold its output pipes open).
            foreach (string extra in new[] { "-nodeReuse:false", "-p:UseSharedCompilation=false", "-nologo" }) start.ArgumentList.Add(extra);
        }
        // This test runs under `dotnet test`, whose MSBuild leaves its own variables in the environment.
        foreach (string name in start.Environment.Keys.Where(k => k.StartsWith("MSBuild", StringComparison.OrdinalIgnoreCase) || k.StartsWith("_MSBuild", StringComparison.OrdinalIgnoreCase)).ToList())
            start.Environment.Remove(name);
        start.Environment["DOTNET_CLI_TELEMETRY_OPTOUT"] = "1";
        start.Environment["DOTNET_NOLOGO"] = "1";
        start.Environment["DOTNET_CLI_USE_MSBUILD_SERVER"] = "0";
        start.Environment["MSBUILDDISABLENODEREUSE"] = "1";

        var output = new StringBuilder();
        using var process = new Process { StartInfo = start };
        process.OutputDataReceived += (_, e) => { if (e.Data != null) lock (output) output.AppendLine(e.Data); };
        process.ErrorDataReceived += (_, e) => { if (e.Data != null) lock (output) output.AppendLine(e.Data); };
        process.Start();
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        if (!process.WaitForExit(CommandTimeout))
        {
            process.Kill(entireProcessTree: true);
            Assert.Fail($"dotnet {string.Join(' ', arguments)} did not finish in {CommandTimeout}:\n{output}");
        }
        process.WaitForExit();
        Assert.True(process.ExitCode == 0, $"dotnet {string.Join(' ', arguments)} exited with {process.ExitCode}:\n{output}");
        return output.ToString();
    }

    private static string DotnetHost()
    {
        string? host = Environment.GetEnvironmentVariable("DOTNET_HOST_PATH");
        if (!string.IsNullOrEmpty(host) && File.Exists(host)) return host;
        string? current = Environment.ProcessPath;
        return current != null && Path.GetFileNameWithoutExtension(current) == "dotnet" ? current : "dotnet";
    }
}
