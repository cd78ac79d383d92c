using System.Globalization;
using System.Text.RegularExpressions;

namespace ClipTrainer.Training;

/// <summary>
/// The checkpoint folders of a <see cref="CheckpointOptions.Directory"/>: their names (ordered as the run's position),
/// the newest, the atomic write (a temporary folder renamed when complete) and the pruning to the last K.
/// </summary>
internal static partial class CheckpointFolder
{
    public const string ManifestFileName = "manifest.json";
    private const string Prefix = "checkpoint-";
    private const string TemporaryPrefix = ".tmp-checkpoint-";

    /// <summary>
    /// The folder name of a position: the zero-padded global step, so ordinal order is the run's order; an epoch's end
    /// (after its record) sorts after the same step's mid-epoch checkpoint.
    /// </summary>
    public static string NameOf(long globalStep, bool epochCompleted) =>
        string.Create(CultureInfo.InvariantCulture, $"{Prefix}{globalStep:D12}{(epochCompleted ? "-epoch" : "")}");

    /// <summary>The checkpoint folders in <paramref name="directory"/>, oldest first (none when it does not exist).</summary>
    public static IReadOnlyList<string> List(string directory)
    {
        if (!Directory.Exists(directory)) return [];
        return Directory.EnumerateDirectories(directory)
            .Where(d => CheckpointName().IsMatch(Path.GetFileName(d)))
            .OrderBy(d => Path.GetFileName(d), StringComparer.Ordinal)
            .ToArray();
    }

    public static string? Newest(string directory) => List(directory) is { Count: > 0 } all ? all[^1] : null;

    public static bool IsCheckpoint(string folder) => File.Exists(Path.Combine(folder, ManifestFileName));

    /// <summary>
    /// Writes a checkpoint: <paramref name="write"/> fills a temporary folder, which is then renamed to its final name
    /// (a rename within one folder is atomic, so a crash leaves the whole checkpoint or none); then only the newest
    /// <paramref name="keepLast"/> are kept.
    /// </summary>
    public static string Write(string directory, string name, int keepLast, Action<string> write)
    {
        Directory.CreateDirectory(directory);
        foreach (var stale in Directory.EnumerateDirectories(directory, TemporaryPrefix + "*")) TryDelete(stale); // left by a killed run
        var temporary = Path.Combine(directory, TemporaryPrefix + Guid.NewGuid().ToString("N"));
        var final = Path.Combine(directory, name);
        Directory.CreateDirectory(temporary);
        try
        {
            write(temporary);
            if (Directory.Exists(final))
            {
                // The same position written again (e.g. a cancelled run resumed and cancelled before its next step):
                // the old copy is moved aside first, so one complete copy exists at every moment.
                var aside = Path.Combine(directory, TemporaryPrefix + Guid.NewGuid().ToString("N"));
                Directory.Move(final, aside);
                Directory.Move(temporary, final);
                TryDelete(aside);
            }
            else
            {
                Directory.Move(temporary, final);
            }
        }
        catch
        {
            TryDelete(temporary);
            throw;
        }

        var all = List(directory);
        for (var i = 0; i < all.Count - keepLast; i++) TryDelete(all[i]);
        return final;
    }

    private static void TryDelete(string folder)
    {
        // An old checkpoint that cannot be deleted (a reader holds it open) costs disk space only: never fail a run for it.
        try { Directory.Delete(folder, recursive: true); }
        catch (IOException) { }
        catch (UnauthorizedAccessException) { }
    }

    [GeneratedRegex(@"^checkpoint-\d{12}(-epoch)?$", RegexOptions.CultureInvariant)]
    private static partial Regex CheckpointName();
}
