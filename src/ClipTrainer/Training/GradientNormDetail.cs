namespace ClipTrainer.Training;

/// <summary>Which per-group gradient norms the training history records at every step, beside the global norm.</summary>
public enum GradientNormDetail
{
    /// <summary>Only the global norm (the default: per-group norms cost a little every step).</summary>
    None = 0,

    /// <summary>The pre-clip norm of every layer (the groups of <c>GradientGrouping.ByLayer</c>).</summary>
    Layer = 1,

    /// <summary>The pre-clip norm of every parameter tensor.</summary>
    Parameter = 2,
}
