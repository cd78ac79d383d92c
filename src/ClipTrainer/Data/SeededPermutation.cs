namespace ClipTrainer.Data;

/// <summary>
/// Deterministic permutations from (seed, epoch), independent of System.Random's algorithm so that shuffles stay the
/// same across .NET versions.
/// </summary>
internal static class SeededPermutation
{
    /// <summary>
    /// Returns a Fisher–Yates shuffle of 0..count−1 driven by SplitMix64 seeded from <paramref name="seed"/> and
    /// <paramref name="epoch"/>.
    /// </summary>
    public static int[] Create(int count, int seed, int epoch)
    {
        var order = new int[count];
        for (var i = 0; i < count; i++)
        {
            order[i] = i;
        }

        var state = InitialState(seed, epoch);
        for (var i = count - 1; i > 0; i--)
        {
            // The modulo bias is below count / 2^64: negligible for any dataset that fits in memory.
            var j = (int)(Next(ref state) % (ulong)(i + 1));
            (order[i], order[j]) = (order[j], order[i]);
        }

        return order;
    }

    /// <summary>The generator's state for (seed, epoch); <see cref="Next"/> advances it.</summary>
    public static ulong InitialState(int seed, int epoch) => unchecked(((ulong)(uint)seed << 32) ^ (uint)epoch ^ 0x9E3779B97F4A7C15UL);

    /// <summary>The next SplitMix64 value.</summary>
    public static ulong Next(ref ulong state)
    {
        unchecked
        {
            state += 0x9E3779B97F4A7C15UL;
            var z = state;
            z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9UL;
            z = (z ^ (z >> 27)) * 0x94D049BB133111EBUL;
            return z ^ (z >> 31);
        }
    }
}
