using static TorchSharp.torch;

namespace ClipTrainer.Clipping;

/// <summary>
/// Local-norm clipping: for each group G (a parameter tensor or a layer), g ← g · min(1, threshold / (‖G‖ₚ + 1e-6))
/// for the gradients g of G, where ‖G‖ₚ is the p-norm of G's gradients alone.
/// </summary>
/// <remarks>With <see cref="LocalNormScope.Parameter"/> this is the lecture's <c>clip_grad_norm_local</c> (see <see cref="GradientClipping.ClipGradNormLocal"/>), and equals
/// calling <c>clip_grad_norm_</c> on each parameter separately.</remarks>
public sealed class LocalNormClippingRule : IGradientClippingRule
{
    /// <summary>Creates the rule.</summary>
    /// <param name="threshold">The maximum norm of each group: finite and &gt; 0.</param>
    /// <param name="normType">p: ≥ 1 or +∞. Default: 2.</param>
    /// <param name="scope">How gradients are grouped. Default: <see cref="LocalNormScope.Parameter"/>.</param>
    /// <exception cref="ArgumentOutOfRangeException">An argument is out of range.</exception>
    public LocalNormClippingRule(
        double threshold,
        double normType = GradientClippingDefaults.NormType,
        LocalNormScope scope = GradientClippingDefaults.LocalScope)
    {
        ClippingArguments.CheckThreshold(threshold, nameof(threshold));
        ClippingArguments.CheckNormType(normType, nameof(normType));
        if (!Enum.IsDefined(scope))
        {
            throw new ArgumentOutOfRangeException(nameof(scope), scope, $"{nameof(scope)} must be a defined {nameof(LocalNormScope)}, but was {scope}.");
        }

        Threshold = threshold;
        NormType = normType;
        Scope = scope;
    }

    /// <summary>Gets the maximum norm of each group.</summary>
    public double Threshold { get; }

    /// <summary>Gets p of the p-norm.</summary>
    public double NormType { get; }

    /// <summary>Gets how gradients are grouped.</summary>
    public LocalNormScope Scope { get; }

    /// <inheritdoc/>
    public string Name => "LocalNorm";

    /// <inheritdoc/>
    public IReadOnlyList<GradientClipStage> Apply(GradientClipContext context)
    {
        ArgumentNullException.ThrowIfNull(context);
        var (groups, groupNames, groupOfTensor) = GroupsFor(context.ParameterNames);
        var tensorNorms = context.TensorNorms(NormType);
        if (context.Device.type == TorchSharp.DeviceType.CPU && groups.Count > 0)
        {
            // On the CPU reading the group norms synchronises nothing: the coefficients, the decision to scale each group
            // and the stage are then host values, and a step where no group exceeds the threshold changes nothing at all.
            using var scope = NewDisposeScope();
            var norms = HostRead.Doubles(Scope == LocalNormScope.Layer ? GradientNorms.PerGroup(tensorNorms, groups, NormType) : tensorNorms);
            var hostCoefficients = GradientNorms.HostCoefficients(norms, Threshold);
            var clipped = GradientNorms.ScaleGroupsOnHost(context.Gradients, groups, hostCoefficients);
            if (clipped)
            {
                var perTensor = new double[context.Gradients.Count];
                for (var i = 0; i < perTensor.Length; i++) perTensor[i] = hostCoefficients[groupOfTensor[i]];
                context.MarkScaled(tensor(perTensor, ScalarType.Float64, tensorNorms.device));
            }

            return [new GradientClipStage(Name, groupNames, norms, hostCoefficients, clipped, context.Device)];
        }

        // Per parameter, the group norms are the tensor norms; a copy keeps the stage independent of the context's cache.
        var groupNorms = Scope == LocalNormScope.Layer
            ? GradientNorms.PerGroup(tensorNorms, groups, NormType)
            : tensorNorms.clone();
        var coefficients = GradientNorms.ClipWithNorms(context.Gradients, groups, groupNorms, Threshold);
        context.MarkScaled(Scope == LocalNormScope.Layer
            ? coefficients.index_select(0, tensor(groupOfTensor, device: coefficients.device))
            : coefficients);
        return [new GradientClipStage(Name, groupNames, groupNorms, coefficients, coefficients.lt(1.0).any())];
    }

    // A training loop clips the same parameters every step: group them once, not once per step. One immutable pair in
    // one field, so a rule shared between threads never pairs one model's names with another's groups.
    private (string[] Names, IReadOnlyList<GradientGroup> Groups, string[] GroupNames, long[] GroupOfTensor)? _grouping;

    private (IReadOnlyList<GradientGroup> Groups, string[] GroupNames, long[] GroupOfTensor) GroupsFor(IReadOnlyList<string> names)
    {
        var cached = _grouping;
        if (cached is { } hit && hit.Names.SequenceEqual(names)) return (hit.Groups, hit.GroupNames, hit.GroupOfTensor);
        var groups = Scope == LocalNormScope.Layer ? GradientGrouping.ByLayer(names) : GradientGrouping.ByParameter(names);
        var groupOfTensor = new long[names.Count];
        for (var g = 0; g < groups.Count; g++)
        {
            foreach (var member in groups[g].Members) groupOfTensor[member] = g;
        }

        var groupNames = groups.Select(g => g.Name).ToArray();
        _grouping = (names.ToArray(), groups, groupNames, groupOfTensor);
        return (groups, groupNames, groupOfTensor);
    }
}
