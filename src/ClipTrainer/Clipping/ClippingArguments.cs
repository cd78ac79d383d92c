using System.Globalization;

namespace ClipTrainer.Clipping;

/// <summary>The argument checks shared by the options, the rules and the <see cref="GradientClipping"/> functions.</summary>
internal static class ClippingArguments
{
    public static void CheckThreshold(double value, string name)
    {
        // Written so that NaN fails: every comparison with NaN is false.
        if (!(value > 0) || double.IsPositiveInfinity(value))
        {
            throw new ArgumentOutOfRangeException(name, value,
                $"{name} must be a finite number greater than 0, but was {Format(value)}.");
        }
    }

    public static void CheckNormType(double value, string name)
    {
        if (!(value >= 1))
        {
            throw new ArgumentOutOfRangeException(name, value,
                $"{name} must be at least 1 or positive infinity (p-norms with p < 1 are not norms), but was {Format(value)}.");
        }
    }

    public static void CheckPercentile(double value, string name)
    {
        if (!(value > 0 && value <= 100))
        {
            throw new ArgumentOutOfRangeException(name, value,
                $"{name} must be a percentile in (0, 100] (10 clips at the 10th percentile of the norm history), but was {Format(value)}.");
        }
    }

    public static void CheckCount(int value, int maximum, string name)
    {
        if (value < 1 || value > maximum)
        {
            throw new ArgumentOutOfRangeException(name, value,
                string.Create(CultureInfo.InvariantCulture, $"{name} must be a whole number in [1, {maximum}], but was {value}."));
        }
    }

    public static void CheckFraction(double value, string name)
    {
        if (!(value > 0 && value < 1))
        {
            throw new ArgumentOutOfRangeException(name, value,
                $"{name} must be in (0, 1) (the weight of the past in a moving average, e.g. 0.97), but was {Format(value)}.");
        }
    }

    private static string Format(double value) => value.ToString("R", CultureInfo.InvariantCulture);
}
