using System.Diagnostics;
using System.Text;
using ClipTrainer.Build;
using Xunit;

namespace ClipTrainer.Tests.Build;

/// <summary>
/// What the out-of-tree consumer tests share: the repository's root, the dotnet CLI run as a user would run it (none
/// of the test host's MSBuild variables, no build server left behind), and the check that a consumer's copy of
/// libLibTorchSharp.so carries the native-load fix and nothing else.
/// </summary>
internal static class ConsumerProjects
{
    public const string LibraryName = "libLibTorchSharp.so";
    private static readonly TimeSpan CommandTimeout = TimeSpan.FromMinutes(5);

    /// <summary>Asserts that <paramref name="library"/> is TorchSharp's library with GLIBCXX_3.4.32 made weak (one byte changed) where this host lacks that version, or unchanged where it has it.</summary>
    public static void AssertCarriesTheFix(string library)
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

    /// <summary>The folder of ClipTrainer.sln above the test assembly.</summary>
    public static string RepositoryRoot()
    {
        for (var directory = new DirectoryInfo(AppContext.BaseDirectory); directory != null; directory = directory.Parent)
        {
            if (File.Exists(Path.Combine(directory.FullName, "ClipTrainer.sln"))) return directory.FullName;
        }
        throw new InvalidOperationException($"No ClipTrainer.sln above {AppContext.BaseDirectory}.");
    }

    /// <summary>TorchSharp's own linux-x64 libLibTorchSharp.so in the NuGet cache.</summary>
    public static string PackageLibrary()
    {
        var version = typeof(TorchSharp.torch).Assembly.GetName().Version!;
        return Path.Combine(PackagesFolder(), "torchsharp", $"{version.Major}.{version.Minor}.{version.Build}",
            "runtimes", "linux-x64", "native", LibraryName);
    }

    /// <summary>NuGet's global packages folder, where restore unpacks packages.</summary>
    public static string PackagesFolder() => Environment.GetEnvironmentVariable("NUGET_PACKAGES")
        ?? Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), ".nuget", "packages");

    /// <summary>Runs the dotnet CLI and returns its output; fails the test, with that output, on a non-zero exit.</summary>
    public static string Dotnet(string workingDirectory, params string[] arguments)
    {
        var start = new ProcessStartInfo(DotnetHost())
        {
            WorkingDirectory = workingDirectory,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        };
        foreach (string argument in arguments) start.ArgumentList.Add(argument);
        bool isBuild = arguments[0] is "build" or "publish" or "pack";
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

    public static string DotnetHost()
    {
        string? host = Environment.GetEnvironmentVariable("DOTNET_HOST_PATH");
        if (!string.IsNullOrEmpty(host) && File.Exists(host)) return host;
        string? current = Environment.ProcessPath;
        return current != null && Path.GetFileNameWithoutExtension(current) == "dotnet" ? current : "dotnet";
    }
}
