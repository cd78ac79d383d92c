namespace ClipTrainer.Training;

/// <summary>The optimizer that applies the clipped gradients.</summary>
public enum OptimizerKind
{
    /// <summary>Adam (Kingma and Ba); weight decay, if any, is an L2 term added to the gradient.</summary>
    Adam,

    /// <summary>AdamW (Loshchilov and Hutter): Adam with weight decay decoupled from the gradient.</summary>
    AdamW,

    /// <summary>Stochastic gradient descent with (optional) momentum; weight decay is an L2 term.</summary>
    Sgd,

    /// <summary>RMSprop with (optional) momentum; weight decay is an L2 term.</summary>
    RmsProp,
}
