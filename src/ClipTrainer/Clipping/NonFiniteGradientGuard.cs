using static TorchSharp.torch;

namespace ClipTrainer.Clipping;

/// <summary>
/// Measures the pre-clip total norm and applies the <see cref="NonFiniteGradientPolicy"/> when it is not finite.
/// </summary>
/// <remarks>
/// A NaN or ±Inf element makes its tensor's norm, and so the total norm, non-finite; checking the total therefore
/// costs one host synchronisation per call and nothing per parameter (the value read is the report's total norm).
/// The fast norms reduce float32 blocks, whose squares overflow for finite elements beyond ~1.8e19 and vanish below
/// ~1e-19: a non-finite or tiny total is therefore measured again exactly in float64 before anything is decided, so
/// finite float32 or half gradients never count as non-finite. Only when the exact total is not finite either is
/// each gradient inspected (one more synchronisation) to name and count the culprits; should a float64 gradient's
/// norm overflow, it is treated as non-finite too (it would otherwise turn every coefficient into 0).
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
        var total = context.TotalNorm(_normType);
        if (context.Gradients.Count == 0)
        {
            return new Outcome(total, 0, SkipStep: false, NonFiniteElementCount: 0, NonFiniteParameterNames: []);
        }

        // The one host read of a call: the check needs the value, and the report gets it for free.
        var value = HostRead.Double(total);
        if (!context.Precise && !double.IsPositiveInfinity(_normType) && !(double.IsFinite(value) && value >= SmallestTrustedTotal))
        {
            // Float32 squares overflowed (finite elements beyond ~1.8e19), vanished (all below ~1e-19), or an element
            // is NaN/Inf: only the exact float64 accumulation tells these apart (a second read, on this rare path only).
            context.UsePreciseNorms();
            total = context.TotalNorm(_normType);
            value = HostRead.Double(total);
        }

        if (double.IsFinite(value))
        {
            (context.Gradients as ClipCallGradients)?.RememberTotal(total, value);
            context.RememberTotalValue(_normType, value);
            return new Outcome(total, value, SkipStep: false, NonFiniteElementCount: 0, NonFiniteParameterNames: []);
        }

        var counts = HostRead.Longs(stack(context.Gradients.Select(g => g.isfinite().logical_not().sum()).ToArray()));
        var names = context.ParameterNames.Where((_, i) => counts[i] > 0).ToArray();
        var count = counts.Sum();
        switch (_policy)
        {
            case NonFiniteGradientPolicy.SkipStep:
                return new Outcome(total, value, SkipStep: true, count, names);
            case NonFiniteGradientPolicy.ZeroNonFinite:
                for (var i = 0; i < counts.Length; i++)
                {
                    if (counts[i] > 0)
                    {
                        context.Gradients[i].nan_to_num_(nan: 0, posinf: 0, neginf: 0);
                    }
                }

                context.MarkModified();
                return new Outcome(context.TotalNorm(_normType), null, SkipStep: false, count, names);
            default:
                throw new InvalidOperationException(ErrorMessage(names, count, value));
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

    // Below this, float32 squares may have vanished (1e-19² is below float32's smallest normal number).
    private const double SmallestTrustedTotal = 1e-18;

    public readonly record struct Outcome(Tensor TotalNorm, double? TotalNormValue, bool SkipStep, long NonFiniteElementCount, IReadOnlyList<string> NonFiniteParameterNames);
}
