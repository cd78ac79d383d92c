namespace ClipTrainer.Samples;

/// <summary>What one sample run did, for the summary table at the end of the main job.</summary>
/// <param name="Trained">The model, clipping and run length, e.g. "LSTM 32, value clipping 0.1, 15 epochs".</param>
/// <param name="HeldOut">The held-out result, e.g. "R² 0.950".</param>
/// <param name="Outputs">Where the sample wrote its files, or null when it wrote none.</param>
public sealed record SampleResult(string Trained, string HeldOut, string? Outputs);
