namespace ClipTrainer.Tests;

/// <summary>Compares floats within an absolute tolerance (for Assert.Equal on arrays).</summary>
internal sealed class FloatTolerance(float tolerance) : IEqualityComparer<float>
{
    public bool Equals(float x, float y) => Math.Abs(x - y) <= tolerance;

    public int GetHashCode(float obj) => 0;
}

/// <summary>Compares doubles within an absolute tolerance (for Assert.Equal on sequences).</summary>
internal sealed class DoubleTolerance(double tolerance) : IEqualityComparer<double>
{
    public bool Equals(double x, double y) => Math.Abs(x - y) <= tolerance;

    public int GetHashCode(double obj) => 0;
}
