using System.Text;

namespace ClipTrainer.Tests.Build;

/// <summary>
/// What the tests know about the host's libstdc++ without the code under test: the file this very process has mapped
/// (the .NET runtime links libstdc++, so the loader picked it exactly as it will for TorchSharp), and whether its bytes
/// contain a version name at all.
/// </summary>
internal static class LoadedLibstdcxx
{
    /// <summary>The libstdc++.so.6 this process loaded, from /proc/self/maps; null where there is none (not Linux).</summary>
    public static string? Path()
    {
        if (!File.Exists("/proc/self/maps")) return null;
        return File.ReadLines("/proc/self/maps")
            .Select(line => line.Split(' ', 6, StringSplitOptions.RemoveEmptyEntries))
            .Where(fields => fields.Length == 6 && System.IO.Path.GetFileName(fields[5].Trim()).StartsWith("libstdc++.so.6", StringComparison.Ordinal))
            .Select(fields => fields[5].Trim())
            .FirstOrDefault();
    }

    /// <summary>Whether the loaded libstdc++ mentions the version name (as a NUL-terminated string, as ELF stores it).</summary>
    public static bool Defines(string version)
    {
        string path = Path() ?? throw new InvalidOperationException("This process has no libstdc++.so.6 mapped.");
        return File.ReadAllBytes(path).AsSpan().IndexOf(Encoding.ASCII.GetBytes(version + "\0")) >= 0;
    }
}
