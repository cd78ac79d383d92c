using System.Diagnostics;
using ClipTrainer.Mpi;
using Xunit;

namespace ClipTrainer.Tests.Mpi;

/// <summary>MPICH for the tests that launch ranks: installed here when missing and running as root, else a failure that says how.</summary>
internal static class Mpich
{
    /// <summary>MPICH's own launcher (hydra), whatever <c>mpiexec</c> points to on this machine.</summary>
    public const string Launcher = "/usr/bin/mpiexec.hydra";

    private static readonly Lazy<string?> Problem = new(Install);

    public static void EnsureInstalled()
    {
        if (Problem.Value is { } problem) Assert.Fail(problem);
    }

    private static string? Install()
    {
        if (File.Exists(Launcher) && MpiWorld.IsMpichInstalled) return null;
        if (Environment.UserName != "root")
            return $"These tests need MPICH ({Launcher}, {MpiWorld.MpichLibrary}): run `sudo {MpiWorld.InstallCommand}`.";

        using var process = Process.Start(new ProcessStartInfo("apt-get", ["install", "-y", "mpich"])
        {
            RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false,
        })!;
        var output = process.StandardOutput.ReadToEndAsync();
        var error = process.StandardError.ReadToEndAsync();
        if (!process.WaitForExit(TimeSpan.FromMinutes(10))) process.Kill(entireProcessTree: true);
        return process.HasExited && process.ExitCode == 0 && File.Exists(Launcher) && MpiWorld.IsMpichInstalled
            ? null
            : $"`{MpiWorld.InstallCommand}` failed (run `apt-get update` first?):\n{output.Result}\n{error.Result}";
    }
}
