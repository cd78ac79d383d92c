using ClipTrainer.Clipping;

namespace ClipTrainer.Experiments;

/// <summary>One row of a clipping comparison: a name for the tables and the clipping options its runs train with.</summary>
public sealed class ClippingConfiguration
{
    /// <summary>Creates a configuration; the options are copied and checked now.</summary>
    /// <param name="name">The row's name in the tables, e.g. "GlobalNorm L2 @ 0.8". Not blank.</param>
    /// <param name="clipping">The clipping options (<see cref="GradientClippingOptions.Validate"/> must pass).</param>
    /// <exception cref="ArgumentException"><paramref name="name"/> is null or blank, or the options' rule factory does not fit their mode.</exception>
    /// <exception cref="ArgumentNullException"><paramref name="clipping"/> is null.</exception>
    /// <exception cref="ArgumentOutOfRangeException">A clipping option is out of range (the parameter name is the option's).</exception>
    public ClippingConfiguration(string name, GradientClippingOptions clipping)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(name);
        ArgumentNullException.ThrowIfNull(clipping);
        Name = name;
        Clipping = clipping.Clone();
        Clipping.Validate();
    }

    /// <summary>Gets the name shown in the tables.</summary>
    public string Name { get; }

    /// <summary>Gets the clipping options (a copy of those given; a run copies them again).</summary>
    public GradientClippingOptions Clipping { get; }

    /// <inheritdoc/>
    public override string ToString() => Name;
}
