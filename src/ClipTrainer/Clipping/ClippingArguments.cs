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

    private static string Format(double value) => value.ToString("R", CultureInfo.InvariantCulture);
}
