namespace ClipTrainer.Experiments;

/// <summary>The mean of a small sample with its standard deviation and a two-sided 95 % Student-t interval.</summary>
internal static class StudentInterval
{
    // t(0.975, ν) for ν = 1…30 (the standard table, 4 decimals); a t-interval rather than a bootstrap because a
    // comparison has 3–10 seeds, too few for a bootstrap's percentiles to mean much.
    private static readonly double[] Quantiles975 =
    [
        12.7062, 4.3027, 3.1824, 2.7764, 2.5706, 2.4469, 2.3646, 2.3060, 2.2622, 2.2281,
        2.2010, 2.1788, 2.1604, 2.1448, 2.1314, 2.1199, 2.1098, 2.1009, 2.0930, 2.0860,
        2.0796, 2.0739, 2.0687, 2.0639, 2.0595, 2.0555, 2.0518, 2.0484, 2.0452, 2.0423,
    ];

    private const double NormalQuantile975 = 1.959963984540054;

    /// <summary>t(0.975, ν): the table up to 30 degrees of freedom, beyond it the Cornish–Fisher expansion in 1/ν (error below 1e-4 there).</summary>
    public static double Quantile975(int degreesOfFreedom)
    {
        if (degreesOfFreedom < 1) throw new ArgumentOutOfRangeException(nameof(degreesOfFreedom), degreesOfFreedom, "Degrees of freedom must be at least 1.");
        if (degreesOfFreedom <= Quantiles975.Length) return Quantiles975[degreesOfFreedom - 1];
        double z = NormalQuantile975, v = degreesOfFreedom;
        double z3 = z * z * z, z5 = z3 * z * z, z7 = z5 * z * z;
        return z + (z3 + z) / (4 * v) + (5 * z5 + 16 * z3 + 3 * z) / (96 * v * v) + (3 * z7 + 19 * z5 + 17 * z3 - 15 * z) / (384 * v * v * v);
    }

    /// <summary>Mean, sample standard deviation (n − 1) and the half-width t(0.975, n − 1)·s/√n of the finite values; NaN where undefined (no value; one value for s and the interval).</summary>
    public static (int Count, double Mean, double StandardDeviation, double HalfWidth) Of(IEnumerable<double> values)
    {
        var finite = values.Where(double.IsFinite).ToArray();
        int n = finite.Length;
        if (n == 0) return (0, double.NaN, double.NaN, double.NaN);
        double mean = finite.Average();
        if (n == 1) return (1, mean, double.NaN, double.NaN);
        double deviation = Math.Sqrt(finite.Sum(x => (x - mean) * (x - mean)) / (n - 1));
        return (n, mean, deviation, Quantile975(n - 1) * deviation / Math.Sqrt(n));
    }
}
