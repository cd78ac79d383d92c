using ClipTrainer.Experiments;

namespace ClipTrainer.Samples;

/// <summary>
/// <c>compare --configurations NAME,NAME</c>: picks a subset of the default configurations by name. Each NAME selects
/// every configuration whose name starts with it, case-insensitively (an exact name is its own prefix), so
/// <c>GlobalNorm L2</c> picks the L2 row whatever threshold the warm-up chose and <c>GlobalNorm</c> picks all three p.
/// </summary>
internal static class ConfigurationSelection
{
    public const string Option = "--configurations";

    /// <summary>The configurations of <paramref name="all"/> that the list names, in <paramref name="all"/>'s order.</summary>
    /// <param name="all">The configurations to choose from (the defaults, with their warm-up thresholds in the names).</param>
    /// <param name="list">Comma-separated names or name prefixes, e.g. "None,GlobalNorm L2,AutoClip".</param>
    /// <exception cref="SampleArgumentException">The list is empty, or a name matches no configuration; the message lists the valid names.</exception>
    public static IReadOnlyList<ClippingConfiguration> Select(IReadOnlyList<ClippingConfiguration> all, string list)
    {
        // Order follows the default list, not the command line, so the tables of two runs line up row for row.
        var names = list.Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries);
        if (names.Length == 0)
            throw new SampleArgumentException($"compare: {Option} needs at least one name, got '{list}'. Fix: e.g. {Option} \"None,GlobalNorm L2\"; the names are: {Valid(all)}.");
        var unknown = names.Where(n => !all.Any(c => Matches(c, n))).ToArray();
        if (unknown.Length > 0)
            throw new SampleArgumentException(
                $"compare: {Option} names no configuration called '{string.Join("', '", unknown)}'. Fix: use these names or a prefix of them (case-insensitive), comma-separated: {Valid(all)}.");
        return all.Where(c => names.Any(n => Matches(c, n))).ToArray();
    }

    private static bool Matches(ClippingConfiguration configuration, string name) =>
        configuration.Name.StartsWith(name, StringComparison.OrdinalIgnoreCase);

    private static string Valid(IReadOnlyList<ClippingConfiguration> all) => string.Join("; ", all.Select(c => c.Name));
}
