namespace ClipTrainer.Clipping;

/// <summary>The check every stateful rule makes of a state to import: exactly its own names.</summary>
internal static class RuleState
{
    public static void CheckKeys(string ruleName, IReadOnlyDictionary<string, TorchSharp.torch.Tensor> state, params string[] keys)
    {
        var missing = keys.Where(k => !state.ContainsKey(k)).ToArray();
        var unknown = state.Keys.Where(k => !keys.Contains(k)).ToArray();
        if (missing.Length > 0 || unknown.Length > 0)
            throw new ArgumentException(
                $"The rule '{ruleName}' keeps the state {string.Join(", ", keys)}, but the state to import " +
                $"{(missing.Length > 0 ? $"lacks {string.Join(", ", missing)}" : "")}{(missing.Length > 0 && unknown.Length > 0 ? " and " : "")}" +
                $"{(unknown.Length > 0 ? $"holds {string.Join(", ", unknown)}, which it does not know" : "")}.", nameof(state));
    }
}
