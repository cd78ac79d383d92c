namespace ClipTrainer.Samples;

/// <summary>Small helpers the samples share: a synchronous progress sink and Gaussian noise.</summary>
internal static class SampleSupport
{
    /// <summary>An <see cref="IProgress{T}"/> that runs the action at once, on the training thread (unlike <see cref="Progress{T}"/>, which posts).</summary>
    public static IProgress<T> Progress<T>(Action<T> action) => new Synchronous<T>(action);

    /// <summary>A standard normal sample (Box–Muller).</summary>
    public static double NextGaussian(this Random random) =>
        Math.Sqrt(-2 * Math.Log(1 - random.NextDouble())) * Math.Cos(2 * Math.PI * random.NextDouble());

    /// <summary><paramref name="length"/> Gaussian values times <paramref name="scale"/>.</summary>
    public static float[] NextNoise(this Random random, int length, double scale = 1.0)
    {
        var values = new float[length];
        for (int i = 0; i < length; i++) values[i] = (float)(scale * random.NextGaussian());
        return values;
    }

    private sealed class Synchronous<T>(Action<T> action) : IProgress<T>
    {
        public void Report(T value) => action(value);
    }
}
