using TorchSharp.Modules;
using static TorchSharp.torch;

namespace ClipTrainer.Clipping;

/// <summary>
/// Clips the gradients of a model after the backward pass, with one rule, a non-finite guard, and a report of what
/// it measured and did.
/// </summary>
/// <remarks>
/// <para>Per call: the gradients of parameters that require a gradient and have one are collected (the others are
/// skipped); their pre-clip total p-norm is computed and checked for NaN/Inf (one host synchronisation, the only one
/// of the call); then the rule scales or clamps them in place. Typical use, once per training step:</para>
/// <code>
/// using var report = clipper.Clip(model);
/// if (!report.SkipStep) optimizer.step();
/// </code>
/// <para>Build one with <see cref="Create"/> from <see cref="GradientClippingOptions"/> (the one place that maps a
/// <see cref="ClippingMode"/> to a rule), or from any <see cref="IGradientClippingRule"/>. A clipper is not
/// thread-safe: use one per training loop.</para>
/// </remarks>
public sealed class GradientClipper
{
    private readonly NonFiniteGradientGuard _guard;
    private long _skippedStepCount;

    /// <summary>Creates a clipper from a rule.</summary>
    /// <param name="rule">The clipping rule.</param>
    /// <param name="normType">p of the reported total norm and of the non-finite check: ≥ 1 or +∞. Default: 2.</param>
    /// <param name="nonFinitePolicy">What to do with NaN/Inf gradients. Default: <see cref="NonFiniteGradientPolicy.Error"/>.</param>
    /// <exception cref="ArgumentNullException"><paramref name="rule"/> is null.</exception>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="normType"/> or <paramref name="nonFinitePolicy"/> is out of range.</exception>
    public GradientClipper(
        IGradientClippingRule rule,
        double normType = GradientClippingDefaults.NormType,
        NonFiniteGradientPolicy nonFinitePolicy = GradientClippingDefaults.NonFinitePolicy)
    {
        ArgumentNullException.ThrowIfNull(rule);
        ClippingArguments.CheckNormType(normType, nameof(normType));
        if (!Enum.IsDefined(nonFinitePolicy))
        {
            throw new ArgumentOutOfRangeException(nameof(nonFinitePolicy), nonFinitePolicy,
                $"{nameof(nonFinitePolicy)} must be a defined {nameof(NonFiniteGradientPolicy)}, but was {nonFinitePolicy}.");
        }

        Rule = rule;
        NormType = normType;
        NonFinitePolicy = nonFinitePolicy;
        _guard = new NonFiniteGradientGuard(nonFinitePolicy, normType);
    }

    /// <summary>Gets the rule this clipper applies.</summary>
    public IGradientClippingRule Rule { get; }

    /// <summary>Gets p of the reported total norm.</summary>
    public double NormType { get; }

    /// <summary>Gets the non-finite gradient policy.</summary>
    public NonFiniteGradientPolicy NonFinitePolicy { get; }

    /// <summary>
    /// Gets or sets whether each report holds the pre-clip norm of every gradient tensor
    /// (<see cref="GradientClipReport.ParameterNormsTensor"/>); off, that property is null and the call saves their computation.
    /// </summary>
    /// <value>Default: false. The training loop turns it on when the history records per-layer or per-parameter norms.</value>
    public bool RecordParameterNorms { get; set; }

    /// <summary>The buffer the last call's gradients were views into, or null: the loop reattaches lost views from it.</summary>
    internal ContiguousGradients? LastCallBuffer { get; private set; }

    /// <summary>Gets how many calls reported <see cref="GradientClipReport.SkipStep"/> so far.</summary>
    public long SkippedStepCount => _skippedStepCount;

    /// <summary>Creates the clipper that <paramref name="options"/> describe: the single place that maps a mode to a rule.</summary>
    /// <param name="options">The options; validated, then copied (later changes to them do not affect the clipper).</param>
    /// <returns>A new clipper.</returns>
    /// <exception cref="ArgumentNullException"><paramref name="options"/> is null.</exception>
    /// <exception cref="ArgumentOutOfRangeException">An option is out of range (see <see cref="GradientClippingOptions.Validate"/>).</exception>
    /// <exception cref="ArgumentException">The rule factory is missing or set under the wrong mode.</exception>
    /// <exception cref="InvalidOperationException">The rule factory returned null.</exception>
    public static GradientClipper Create(GradientClippingOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        options.Validate();
        return CreateValidated(options);
    }

    /// <summary><see cref="Create"/> for options that were validated where they entered (the training loop's settings).</summary>
    internal static GradientClipper CreateValidated(GradientClippingOptions options)
    {
        IGradientClippingRule rule = options.Mode switch
        {
            ClippingMode.None => NoClippingRule.Instance,
            ClippingMode.GlobalNorm => new GlobalNormClippingRule(options.Threshold, options.NormType),
            ClippingMode.LocalNorm => new LocalNormClippingRule(options.Threshold, options.NormType, options.LocalScope),
            ClippingMode.Value => new ValueClippingRule(options.Threshold),
            ClippingMode.GlobalThenLocal => new ChainedClippingRule(
                new GlobalNormClippingRule(options.Threshold, options.NormType),
                new LocalNormClippingRule(options.LocalThreshold, options.NormType, options.LocalScope)),
            ClippingMode.AutoClip => new AutoClipRule(options.AutoClipPercentile, options.AutoClipWindow, options.NormType),
            ClippingMode.AdaptiveGradientClipping => new AdaptiveGradientClippingRule(
                options.AdaptiveClippingFactor, options.AdaptiveClippingEpsilon, options.AdaptiveClippingExcludedLayer),
            ClippingMode.ZClip => new ZClipRule(options.ZClipWarmupSteps, options.ZClipThreshold, options.ZClipAlpha, options.ZClipClipTarget,
                options.ZClipMaximumNorm, options.NormType),
            ClippingMode.Custom => options.RuleFactory!() ?? throw new InvalidOperationException(
                $"{nameof(GradientClippingOptions)}.{nameof(GradientClippingOptions.RuleFactory)} returned null; it must return a new rule."),
            _ => throw new ArgumentOutOfRangeException(nameof(options), options.Mode, $"Unknown {nameof(ClippingMode)} {options.Mode}."),
        };
        return new GradientClipper(rule, options.NormType, options.NonFinitePolicy);
    }

    /// <summary>
    /// Exports the state of <see cref="Rule"/> and of the clipper (its skipped-step count), as copies the caller owns:
    /// what a checkpoint stores so that a resumed run clips exactly as the uninterrupted one would.
    /// </summary>
    /// <returns>Named tensors: the rule's state under <c>rule.</c>, the skipped-step count as <c>skipped_steps</c>.</returns>
    public Dictionary<string, Tensor> ExportState()
    {
        var state = Rule.ExportState().ToDictionary(p => "rule." + p.Key, p => p.Value, StringComparer.Ordinal);
        state.Add(SkippedStepsKey, tensor(_skippedStepCount).DetachFromDisposeScope());
        return state;
    }

    /// <summary>Restores a state that <see cref="ExportState"/> returned (tensors are copied by the rule).</summary>
    /// <param name="state">The state.</param>
    /// <exception cref="ArgumentNullException"><paramref name="state"/> is null.</exception>
    /// <exception cref="ArgumentException">The state does not fit this clipper's rule.</exception>
    public void ImportState(IReadOnlyDictionary<string, Tensor> state)
    {
        ArgumentNullException.ThrowIfNull(state);
        const string Prefix = "rule.";
        var unknown = state.Keys.Where(k => k != SkippedStepsKey && !k.StartsWith(Prefix, StringComparison.Ordinal)).ToArray();
        if (unknown.Length > 0)
        {
            throw new ArgumentException($"The clipper state holds {string.Join(", ", unknown)}, which it does not know.", nameof(state));
        }

        Rule.ImportState(state.Where(p => p.Key.StartsWith(Prefix, StringComparison.Ordinal))
            .ToDictionary(p => p.Key[Prefix.Length..], p => p.Value, StringComparer.Ordinal));
        _skippedStepCount = state.TryGetValue(SkippedStepsKey, out var skipped) ? skipped.item<long>() : 0;
    }

    private const string SkippedStepsKey = "skipped_steps";

    /// <summary>Clips the gradients of all parameters of <paramref name="module"/> (<c>named_parameters()</c>).</summary>
    /// <param name="module">The model, after <c>backward()</c>.</param>
    /// <returns>The report of this call; dispose it (it owns its tensors).</returns>
    /// <exception cref="ArgumentNullException"><paramref name="module"/> is null.</exception>
    /// <exception cref="InvalidOperationException">A gradient holds NaN or Inf and the policy is <see cref="NonFiniteGradientPolicy.Error"/>; the message names the parameters; the gradients are untouched.</exception>
    public GradientClipReport Clip(nn.Module module)
    {
        ArgumentNullException.ThrowIfNull(module);
        return Clip(module.named_parameters().ToArray());
    }

    /// <summary>Clips the gradients of the given parameters in place.</summary>
    /// <param name="parameters">The named parameters; those that do not require a gradient or have none are skipped.</param>
    /// <returns>The report of this call; dispose it (it owns its tensors).</returns>
    /// <exception cref="ArgumentNullException"><paramref name="parameters"/> is null.</exception>
    /// <exception cref="InvalidOperationException">A gradient holds NaN or Inf and the policy is <see cref="NonFiniteGradientPolicy.Error"/>; the message names the parameters; the gradients are untouched.</exception>
    public GradientClipReport Clip(IReadOnlyList<(string Name, Parameter Parameter)> parameters)
    {
        ArgumentNullException.ThrowIfNull(parameters);
        using var scope = NewDisposeScope();
        using var noGrad = no_grad(); // as in PyTorch: clipping is bookkeeping, not part of any graph
        var names = new List<string>(parameters.Count);
        IReadOnlyList<Tensor> callGradients;
        IReadOnlyList<Tensor> weights;

        // Gradients that are still the views of one ContiguousGradients buffer are clipped with fused calls on it; the
        // training loop's case, tested without a managed tensor per gradient.
        var contiguous = ContiguousGradients.HoldingViewsOf(parameters, names);
        if (contiguous is not null)
        {
            (callGradients, weights) = (contiguous.NewCallGradients(), contiguous.Parameters);
        }
        else
        {
            var owners = new List<Parameter>(parameters.Count);
            var gradients = new List<Tensor>(parameters.Count);
            foreach (var (name, parameter) in parameters)
            {
                if (parameter is not null && parameter.requires_grad && parameter.grad is { } gradient)
                {
                    names.Add(name);
                    owners.Add(parameter);
                    gradients.Add(gradient);
                }
            }

            contiguous = ContiguousGradients.Holding(owners, gradients);
            (callGradients, weights) = (new ClipCallGradients(gradients, contiguous), owners);
        }

        LastCallBuffer = contiguous;
        using var context = new GradientClipContext(names, callGradients, weights);
        var outcome = _guard.Inspect(context);
        var parameterNorms = RecordParameterNorms ? context.TensorNorms(NormType).alias() : null; // the context disposes its own
        if (outcome.SkipStep)
        {
            Interlocked.Increment(ref _skippedStepCount);
        }

        var stages = outcome.SkipStep ? [] : Rule.Apply(context);
        if (!outcome.SkipStep && outcome.TotalNormValue is { } total && context.TryGetTotalValue(NormType, out var postClip) && AllOnHost(stages))
        {
            // Every stage worked on the host (or there was none): the report is numbers, and makes a tensor only if asked.
            var clipped = false;
            foreach (var stage in stages) clipped |= stage.WasClipped;
            parameterNorms?.MoveToOuterDisposeScope();
            return new GradientClipReport(total, postClip, clipped, context.Device, names, parameterNorms, NormType, stages);
        }

        var wasClipped = stages.Count switch
        {
            0 => zeros(Array.Empty<long>(), ScalarType.Bool, outcome.TotalNorm.device),
            1 => stages[0].ClippedTensor.reshape(Array.Empty<long>()),
            _ => stack(stages.Select(s => s.ClippedTensor.reshape(Array.Empty<long>())).ToArray()).any(),
        };

        // After norm rules the context holds the scaled norms, so this is a small op; after value clipping a new pass.
        // The context's total is the scaled cache after norm rules (no pass over the gradients); when nothing scaled it is
        // the pre-clip tensor itself, which the report already owns once.
        var postClipNorm = (outcome.SkipStep ? outcome.TotalNorm : context.TotalNorm(NormType)).alias();
        var totalNorm = outcome.TotalNorm.alias();

        // The report outlives this scope on purpose: it owns the norms, the clipped flag and the stages' tensors.
        totalNorm.MoveToOuterDisposeScope();
        postClipNorm.MoveToOuterDisposeScope();
        parameterNorms?.MoveToOuterDisposeScope();
        wasClipped.MoveToOuterDisposeScope();
        foreach (var stage in stages)
        {
            stage.MoveToOuterDisposeScope();
        }

        return new GradientClipReport(totalNorm, postClipNorm, names, parameterNorms, NormType, stages, wasClipped, outcome.SkipStep,
            outcome.NonFiniteElementCount, outcome.NonFiniteParameterNames, outcome.TotalNormValue);
    }

    private static bool AllOnHost(IReadOnlyList<GradientClipStage> stages)
    {
        for (var i = 0; i < stages.Count; i++)
        {
            if (!stages[i].HasHostValues) return false;
        }

        return true;
    }
}
