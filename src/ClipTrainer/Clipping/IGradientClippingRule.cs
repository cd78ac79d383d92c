using static TorchSharp.torch;

namespace ClipTrainer.Clipping;

/// <summary>
/// One gradient-clipping rule: a small type with one job (global norm, local norm, value…), combinable with
/// <see cref="ChainedClippingRule"/>. A rule may keep state across steps (a history of norms, a moving average) and
/// may read the weights as well as the gradients (<see cref="GradientClipContext.Weights"/>).
/// </summary>
/// <remarks>
/// <para>A rule changes the gradients of the context in place, tells the context how (<see cref="GradientClipContext.MarkScaled"/>
/// or <see cref="GradientClipContext.MarkModified"/>), and returns what it did as stages whose tensors the caller then
/// owns. A rule should not read values back to the host: coefficients are applied unconditionally, as tensors. A rule
/// that must read one to decide says so in its documentation.</para>
/// <para>State (optax's <c>init</c>/<c>update</c> state, Lightning's <c>state_dict</c>): a stateful rule keeps it in its
/// own fields, updates it in <see cref="Apply"/>, and exports it as named tensors for a checkpoint; a stateless rule
/// keeps the default implementations, which export nothing. One rule instance serves one training run: create a new
/// one per run (<see cref="GradientClippingOptions.RuleFactory"/> is called once per run for that reason).</para>
/// </remarks>
public interface IGradientClippingRule
{
    /// <summary>Gets a short name of the rule, used as <see cref="GradientClipStage.RuleName"/>.</summary>
    string Name { get; }

    /// <summary>Clips the context's gradients in place, updating the rule's state if it has any.</summary>
    /// <param name="context">The gradients, their weights and their cached norms.</param>
    /// <returns>One stage per clipping step the rule performed (none for a rule that does nothing).</returns>
    /// <exception cref="ArgumentNullException"><paramref name="context"/> is null.</exception>
    IReadOnlyList<GradientClipStage> Apply(GradientClipContext context);

    /// <summary>Exports the state the rule keeps across steps, as copies the caller owns and disposes.</summary>
    /// <returns>Named tensors (empty for a stateless rule, the default).</returns>
    Dictionary<string, Tensor> ExportState() => [];

    /// <summary>Replaces the rule's state with one that <see cref="ExportState"/> returned (the tensors are copied).</summary>
    /// <param name="state">The state; for a stateless rule (the default) it must be empty.</param>
    /// <exception cref="ArgumentNullException"><paramref name="state"/> is null.</exception>
    /// <exception cref="ArgumentException">The state does not belong to this rule (an unknown or missing name, a wrong shape).</exception>
    void ImportState(IReadOnlyDictionary<string, Tensor> state)
    {
        ArgumentNullException.ThrowIfNull(state);
        if (state.Count != 0)
        {
            throw new ArgumentException(
                $"The rule '{Name}' keeps no state, but the state to import holds {string.Join(", ", state.Keys)}.", nameof(state));
        }
    }
}
