namespace ClipTrainer.Clipping;

/// <summary>
/// A named set of gradients that local-norm clipping measures and scales together: one parameter tensor, or the
/// parameters of one layer.
/// </summary>
/// <remarks>
/// A group refers to gradients by position in the list it was built from (see <see cref="GradientGrouping"/>), so
/// the norms of groups can be computed from the per-tensor norms without reading the gradients again.
/// </remarks>
public sealed class GradientGroup
{
    /// <summary>Creates a group.</summary>
    /// <param name="name">The group's name: a parameter name, or a layer name such as <c>lstm[l1]</c>.</param>
    /// <param name="members">The positions of the group's gradients in the gradient list; not empty.</param>
    /// <exception cref="ArgumentNullException"><paramref name="name"/> or <paramref name="members"/> is null.</exception>
    /// <exception cref="ArgumentException"><paramref name="members"/> is empty or holds a negative position.</exception>
    public GradientGroup(string name, IReadOnlyList<int> members)
    {
        ArgumentNullException.ThrowIfNull(name);
        ArgumentNullException.ThrowIfNull(members);
        if (members.Count == 0)
        {
            throw new ArgumentException($"Gradient group '{name}' must have at least one member.", nameof(members));
        }

        if (members.Any(m => m < 0))
        {
            throw new ArgumentException($"Gradient group '{name}' has a negative member position.", nameof(members));
        }

        Name = name;
        Members = members.ToArray();
    }

    /// <summary>Gets the group's name.</summary>
    public string Name { get; }

    /// <summary>Gets the positions of the group's gradients in the gradient list the group was built from.</summary>
    public IReadOnlyList<int> Members { get; }

    /// <inheritdoc/>
    public override string ToString() => $"{Name} ({Members.Count} tensor{(Members.Count == 1 ? "" : "s")})";
}
