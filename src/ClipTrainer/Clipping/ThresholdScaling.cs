using static TorchSharp.torch;

namespace ClipTrainer.Clipping;

/// <summary>
/// Global-norm clipping at a threshold that is itself a tensor (the adaptive rules compute it on the device):
/// g ← g · min(1, τ / (‖g‖ + 1e-6)), applied unconditionally, so no host read decides whether to clip.
/// </summary>
internal static class ThresholdScaling
{
    /// <summary>Scales the context's gradients, tells the context, and returns the stage of one global group.</summary>
    /// <param name="ruleName">The rule's name, for the stage.</param>
    /// <param name="context">The gradients.</param>
    /// <param name="total">Their 0-dimensional float64 total norm.</param>
    /// <param name="threshold">The 0-dimensional float64 threshold τ (+∞ clips nothing).</param>
    public static GradientClipStage Clip(string ruleName, GradientClipContext context, Tensor total, Tensor threshold)
    {
        using var noGrad = no_grad();
        var coefficient = threshold.div(total.add(GradientNorms.Epsilon)).clamp_max_(1.0);
        if (context.Gradients.Count > 0)
        {
            using var scope = NewDisposeScope();
            if (ContiguousGradients.Of(context.Gradients) is { } buffer)
            {
                buffer.Buffer.mul_(coefficient.to(buffer.Buffer.dtype, buffer.Buffer.device));
            }
            else
            {
                foreach (var gradient in context.Gradients) gradient.mul_(coefficient.to(gradient.dtype, gradient.device));
            }
        }

        context.MarkScaled(coefficient);

        // Clipped means the norm exceeded τ: at ‖g‖ = τ the coefficient is 1 − 1e-6/τ, which changes nothing that matters.
        return new GradientClipStage(ruleName, [GlobalNormClippingRule.GroupName], total.reshape(1), coefficient.reshape(1), total.gt(threshold));
    }
}
