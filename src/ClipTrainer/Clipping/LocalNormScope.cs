namespace ClipTrainer.Clipping;

/// <summary>
/// How local-norm clipping groups gradients: each group gets its own norm and its own coefficient.
/// </summary>
/// <remarks>See <see cref="GradientGrouping.ByLayer(IReadOnlyList{string})"/> for the exact layer rule.</remarks>
public enum LocalNormScope
{
    /// <summary>Every parameter tensor is its own group (the lecture's <c>clip_grad_norm_local</c>, see <see cref="GradientClipping.ClipGradNormLocal"/>).</summary>
    Parameter = 0,

    /// <summary>
    /// The parameters of one layer form a group: those of one module (for example a linear layer's weight and
    /// bias), and, inside a recurrent module, those of one stacked layer (<c>weight_ih_l1</c>, <c>weight_hh_l1</c>,
    /// <c>bias_ih_l1</c>, <c>bias_hh_l1</c> and their <c>_reverse</c> twins).
    /// </summary>
    Layer = 1,
}
