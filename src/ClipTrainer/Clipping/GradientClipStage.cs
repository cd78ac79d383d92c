using static TorchSharp.torch;

namespace ClipTrainer.Clipping;

/// <summary>
/// What one clipping rule did in one call: the norms of the groups it measured (before it scaled them), the
/// coefficients it applied, and whether any of them was below 1.
/// </summary>
/// <remarks>
/// The tensors are kept on the device, and the <c>double</c> views are read from them the first time they are asked
/// for (one host synchronisation each, then cached). A stage of a rule that worked on the host (the global norm, whose
/// total the non-finite check read; the local norm on the CPU) holds the numbers, and makes each tensor only when it is
/// first asked for. The stage
/// owns its tensors and disposes them with itself; the <see cref="GradientClipReport"/> that holds it disposes it.
/// </remarks>
public sealed class GradientClipStage : IDisposable
{
    private readonly Device? _device; // set when the stage was made from host values: its tensors are made on first use
    private double[]? _groupNorms;
    private double[]? _coefficients;
    private bool? _wasClipped;
    private Tensor? _groupNormsTensor;
    private Tensor? _coefficientsTensor;
    private Tensor? _clippedTensor;
    private bool _disposed;

    /// <summary>Creates a stage record; it takes ownership of the tensors.</summary>
    /// <param name="ruleName">The name of the rule, such as <c>GlobalNorm</c>.</param>
    /// <param name="groupNames">The name of each measured group (empty for a rule that measures no norm).</param>
    /// <param name="groupNorms">A vector with the pre-clip norm of each group.</param>
    /// <param name="coefficients">A vector with the coefficient applied to each group.</param>
    /// <param name="clipped">A 0-dimensional Boolean tensor: whether the rule changed any gradient.</param>
    /// <exception cref="ArgumentNullException">An argument is null.</exception>
    /// <exception cref="ArgumentException">A vector does not have one element per group name.</exception>
    public GradientClipStage(string ruleName, IReadOnlyList<string> groupNames, Tensor groupNorms, Tensor coefficients, Tensor clipped)
    {
        ArgumentNullException.ThrowIfNull(ruleName);
        ArgumentNullException.ThrowIfNull(groupNames);
        ArgumentNullException.ThrowIfNull(groupNorms);
        ArgumentNullException.ThrowIfNull(coefficients);
        ArgumentNullException.ThrowIfNull(clipped);
        if (groupNorms.numel() != groupNames.Count || coefficients.numel() != groupNames.Count)
        {
            throw new ArgumentException(
                $"Stage '{ruleName}' has {groupNames.Count} groups but {groupNorms.numel()} norms and {coefficients.numel()} coefficients.",
                nameof(groupNames));
        }

        RuleName = ruleName;
        GroupNames = groupNames.ToArray();
        _groupNormsTensor = groupNorms;
        _coefficientsTensor = coefficients;
        _clippedTensor = clipped;
    }

    /// <summary>A one-group stage from host values (no tensor until one is asked for, then on <paramref name="device"/>).</summary>
    internal GradientClipStage(string ruleName, string groupName, double groupNorm, double coefficient, bool clipped, Device device)
        : this(ruleName, [groupName], [groupNorm], [coefficient], clipped, device)
    {
    }

    /// <summary>A stage from host values, one norm and coefficient per group (the arrays are the stage's from here on).</summary>
    internal GradientClipStage(string ruleName, IReadOnlyList<string> groupNames, double[] groupNorms, double[] coefficients, bool clipped, Device device)
    {
        RuleName = ruleName;
        GroupNames = groupNames;
        _groupNorms = groupNorms;
        _coefficients = coefficients;
        _wasClipped = clipped;
        _device = device;
    }

    /// <summary>Whether the values are known without a read (the stage was made from host values).</summary>
    internal bool HasHostValues => _device is not null;

    /// <summary>The smallest coefficient (NaN when there is none), read like <see cref="Coefficients"/> but without its copy.</summary>
    internal double SmallestCoefficient => (_coefficients ??= HostRead.Doubles(CoefficientsTensor)) is { Length: > 0 } values ? values.Min() : double.NaN;

    /// <summary>Gets the name of the rule that produced this stage.</summary>
    public string RuleName { get; }

    /// <summary>Gets the name of each measured group, in the order of <see cref="GroupNorms"/>.</summary>
    public IReadOnlyList<string> GroupNames { get; }

    /// <summary>Gets the pre-clip norm of each group, as a vector on the gradients' device (no synchronisation).</summary>
    /// <exception cref="ObjectDisposedException">The stage was made from host values and disposed before the tensor was asked for.</exception>
    public Tensor GroupNormsTensor => _groupNormsTensor ??= HostTensor.Float64Vector(_groupNorms!, _device!, _disposed, this);

    /// <summary>Gets the coefficient applied to each group, as a vector on the gradients' device (no synchronisation).</summary>
    /// <exception cref="ObjectDisposedException">The stage was made from host values and disposed before the tensor was asked for.</exception>
    public Tensor CoefficientsTensor => _coefficientsTensor ??= HostTensor.Float64Vector(_coefficients!, _device!, _disposed, this);

    /// <summary>Gets a 0-dimensional Boolean tensor telling whether this stage changed any gradient.</summary>
    /// <exception cref="ObjectDisposedException">The stage was made from host values and disposed before the tensor was asked for.</exception>
    public Tensor ClippedTensor => _clippedTensor ??= HostTensor.Boolean(_wasClipped!.Value, _device!, _disposed, this);

    /// <summary>Gets the pre-clip norm of each group; read on first use, then cached.</summary>
    /// <value>A new array on each call, one element per <see cref="GroupNames"/> entry.</value>
    /// <exception cref="ObjectDisposedException">The stage was disposed before the values were read (never for a stage made from host values).</exception>
    public double[] GroupNorms => (double[])(_groupNorms ??= HostRead.Doubles(GroupNormsTensor)).Clone();

    /// <summary>Gets the coefficient applied to each group, in [0, 1]; read on first use, then cached.</summary>
    /// <value>A new array on each call, one element per <see cref="GroupNames"/> entry.</value>
    /// <exception cref="ObjectDisposedException">The stage was disposed before the values were read (never for a stage made from host values).</exception>
    public double[] Coefficients => (double[])(_coefficients ??= HostRead.Doubles(CoefficientsTensor)).Clone();

    /// <summary>Gets whether this stage changed any gradient; read on first use, then cached.</summary>
    /// <exception cref="ObjectDisposedException">The stage was disposed before the value was read (never for a stage made from host values).</exception>
    public bool WasClipped => _wasClipped ??= HostRead.Boolean(ClippedTensor);

    /// <summary>Disposes the stage's tensors. Values already read stay available.</summary>
    public void Dispose()
    {
        _disposed = true;
        _groupNormsTensor?.Dispose();
        _coefficientsTensor?.Dispose();
        _clippedTensor?.Dispose();
    }

    internal void MoveToOuterDisposeScope()
    {
        _groupNormsTensor?.MoveToOuterDisposeScope();
        _coefficientsTensor?.MoveToOuterDisposeScope();
        _clippedTensor?.MoveToOuterDisposeScope();
    }
}
