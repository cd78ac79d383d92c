using static TorchSharp.torch;

namespace ClipTrainer.Clipping;

/// <summary>
/// Measures the pre-clip total norm and applies the <see cref="NonFiniteGradientPolicy"/> when it is not finite.
/// </summary>
/// <remarks>
/// A NaN or ±Inf element makes its tensor's norm, and so the total norm, non-finite; checking the total therefore
/// costs one host synchronisation per call and nothing per parameter. Only when that check fails is each gradient
/// inspected (one more synchronisation) to name and count the culprits. Norms are accumulated in float64, so finite
/// float32 or half gradients cannot overflow them; should a float64 gradient's norm overflow, it is treated as
/// non-finite too (it would otherwise turn every coefficient into 0).
/// </remarks>
internal sealed class NonFiniteGradientGuard
{
    private readonly NonFiniteGradientPolicy _policy;
    private readonly double _normType;

    public NonFiniteGradientGuard(NonFiniteGradientPolicy policy, double normType)
    {
        _policy = policy;
        _normType = normType;
    }

    /// <summary>Returns the total norm to report (pre-clip, after zeroing under ZeroNonFinite) and what was found.</summary>
    public Outcome Inspect(GradientClipContext context)
    {
        var total = GradientNorms.Combine(context.TensorNorms(_normType), _normType);
        if (context.Gradients.Count == 0 || HostRead.Boolean(total.isfinite()))
        {
            return new Outcome(total, SkipStep: false, NonFiniteElementCount: 0, NonFiniteParameterNames: []);
        }

        var counts = HostRead.Longs(stack(context.Gradients.Select(g => g.isfinite().logical_not().sum()).ToArray()));
        var names = context.ParameterNames.Where((_, i) => counts[i] > 0).ToArray();
        var count = counts.Sum();
        switch (_policy)
        {
            case NonFiniteGradientPolicy.SkipStep:
                return new Outcome(total, SkipStep: true, count, names);
            case NonFiniteGradientPolicy.ZeroNonFinite:
                for (var i = 0; i < counts.Length; i++)
                {
                    if (counts[i] > 0)
                    {
                        context.Gradients[i].nan_to_num_(nan: 0, posinf: 0, neginf: 0);
                    }
                }

                context.MarkModified();
                return new Outcome(GradientNorms.Combine(context.TensorNorms(_normType), _normType), SkipStep: false, count, names);
            default:
                throw new InvalidOperationException(ErrorMessage(names, count, HostRead.Double(total)));
        }
    }

    private string ErrorMessage(IReadOnlyList<string> names, long count, double total)
    {
        var p = double.IsPositiveInfinity(_normType) ? "inf" : _normType.ToString("R", System.Globalization.CultureInfo.InvariantCulture);
        var advice = $"Lower the learning rate, or set {nameof(GradientClippingOptions.NonFinitePolicy)} to " +
            $"{nameof(NonFiniteGradientPolicy.SkipStep)} or {nameof(NonFiniteGradientPolicy.ZeroNonFinite)}. The gradients were left untouched.";
        return names.Count == 0
            ? string.Create(System.Globalization.CultureInfo.InvariantCulture,
                $"The gradients' total {p}-norm is {total} although every element is finite (the norm overflowed). {advice}")
            : string.Create(System.Globalization.CultureInfo.InvariantCulture,
                $"Non-finite gradients (NaN or Inf) in {count} element(s) of {names.Count} parameter(s): {string.Join(", ", names)}. " +
                $"The total {p}-norm is {total}. {advice}");
    }

    public readonly record struct Outcome(Tensor TotalNorm, bool SkipStep, long NonFiniteElementCount, IReadOnlyList<string> NonFiniteParameterNames);
}
