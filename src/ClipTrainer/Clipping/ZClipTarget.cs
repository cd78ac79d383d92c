namespace ClipTrainer.Clipping;

/// <summary>Where <see cref="ZClipRule"/> clips a spike (a norm whose z-score exceeds the threshold) to.</summary>
public enum ZClipTarget
{
    /// <summary>
    /// To μ + z_thr·σ / (z / z_thr): the larger the spike, the closer to the mean (the reference's <c>adaptive_scaling</c>).
    /// </summary>
    AdaptiveScaling = 0,

    /// <summary>To the moving mean μ (the reference's <c>mean</c> option).</summary>
    Mean = 1,
}
