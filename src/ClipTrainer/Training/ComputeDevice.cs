namespace ClipTrainer.Training;

/// <summary>Where the model trains and scores.</summary>
public enum ComputeDevice
{
    /// <summary>The CPU (always available).</summary>
    Cpu,

    /// <summary>The first CUDA GPU; needs a CUDA build of libtorch, else training fails with <see cref="InvalidOperationException"/>.</summary>
    Cuda,
}
