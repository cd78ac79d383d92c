using System.Text.RegularExpressions;

namespace ClipTrainer.Clipping;

/// <summary>
/// Builds the groups of local-norm clipping from parameter names (as <c>Module.named_parameters()</c> gives them).
/// </summary>
public static partial class GradientGrouping
{
    /// <summary>Makes every parameter its own group, named after the parameter, in the given order.</summary>
    /// <param name="parameterNames">The parameter names, one per gradient.</param>
    /// <returns>One group per name.</returns>
    /// <exception cref="ArgumentNullException"><paramref name="parameterNames"/> is null.</exception>
    public static IReadOnlyList<GradientGroup> ByParameter(IReadOnlyList<string> parameterNames)
    {
        ArgumentNullException.ThrowIfNull(parameterNames);
        return parameterNames.Select((name, i) => new GradientGroup(name, [i])).ToArray();
    }

    /// <summary>Groups parameters by layer, in order of each layer's first parameter.</summary>
    /// <param name="parameterNames">The dotted parameter names, one per gradient.</param>
    /// <returns>One group per layer.</returns>
    /// <exception cref="ArgumentNullException"><paramref name="parameterNames"/> is null.</exception>
    /// <remarks>
    /// A layer is the module that owns a parameter: the name up to its last dot (<c>fc.weight</c> and <c>fc.bias</c>
    /// form the group <c>fc</c>; parameters of the root module form the group <c>(root)</c>, and a root recurrent module's layers <c>(root)[l{k}]</c>). Recurrent modules keep
    /// all their stacked layers in one module, with parameter names of the form <c>weight_ih_l{k}</c>,
    /// <c>bias_hh_l{k}</c>, <c>weight_hr_l{k}</c> and <c>…_l{k}_reverse</c>; those are split by the layer index k into
    /// groups named <c>module[l{k}]</c>, and the forward and reverse directions of layer k share a group, since they
    /// are one layer of the network (they read the same input and are concatenated into the same output).
    /// </remarks>
    public static IReadOnlyList<GradientGroup> ByLayer(IReadOnlyList<string> parameterNames)
    {
        ArgumentNullException.ThrowIfNull(parameterNames);
        var order = new List<string>();
        var members = new Dictionary<string, List<int>>(StringComparer.Ordinal);
        for (var i = 0; i < parameterNames.Count; i++)
        {
            var layer = LayerName(parameterNames[i]);
            if (!members.TryGetValue(layer, out var list))
            {
                list = [];
                members.Add(layer, list);
                order.Add(layer);
            }

            list.Add(i);
        }

        return order.Select(layer => new GradientGroup(layer, members[layer])).ToArray();
    }

    /// <summary>Returns the layer a parameter belongs to, by the rule of <see cref="ByLayer"/>.</summary>
    /// <param name="parameterName">A dotted parameter name such as <c>lstm.weight_hh_l1_reverse</c>.</param>
    /// <returns>The layer's name, such as <c>lstm[l1]</c>, <c>fc</c> or <c>(root)</c>.</returns>
    /// <exception cref="ArgumentNullException"><paramref name="parameterName"/> is null.</exception>
    public static string LayerName(string parameterName)
    {
        ArgumentNullException.ThrowIfNull(parameterName);
        var dot = parameterName.LastIndexOf('.');
        var module = dot < 0 ? RootName : parameterName[..dot];
        var recurrent = RecurrentParameter().Match(parameterName[(dot + 1)..]);
        return recurrent.Success ? $"{module}[l{recurrent.Groups["layer"].Value}]" : module;
    }

    private const string RootName = "(root)";

    [GeneratedRegex(@"^(weight|bias)_[a-z]+_l(?<layer>\d+)(_reverse)?$", RegexOptions.CultureInvariant)]
    private static partial Regex RecurrentParameter();
}
