using ClipTrainer.Training;

namespace ClipTrainer.Experiments;

/// <summary>How <see cref="ClippingComparison.Run"/> repeats and judges its runs: seeds, the "solved" criterion, progress.</summary>
public sealed class ClippingComparisonOptions
{
    /// <summary>
    /// Gets or sets how many seeds every configuration trains with: the base options' <c>Seed</c>, <c>Seed + 1</c>, ….
    /// The same seed gives every configuration the same initial weights and the same batch order.
    /// </summary>
    /// <value>Range: [1, 1000]. Default: 3.</value>
    public int NumberOfSeeds { get; set; } = 3;

    /// <summary>
    /// Gets or sets when a run counts as solved, judged on each epoch's record with the test data as the validation
    /// set (<see cref="EpochRecord.ValidationLoss"/>: mean squared error for regression, cross-entropy for
    /// classification; <see cref="EpochRecord.ValidationMetric"/>: R² or accuracy). Null: no criterion, and the test
    /// data is used only after training.
    /// </summary>
    /// <value>Default: null.</value>
    public Func<EpochRecord, bool>? SolvedWhen { get; set; }

    /// <summary>Gets or sets the criterion in words, for the tables, e.g. "test MSE ≤ 0.01".</summary>
    /// <value>Default: "solved". Required (not blank) when <see cref="SolvedWhen"/> is set.</value>
    public string SolvedDescription { get; set; } = "solved";

    /// <summary>
    /// Gets or sets whether a run ends at the first epoch that meets <see cref="SolvedWhen"/> (steps to solve is then
    /// all a longer run would add; the metrics are those of that epoch's weights).
    /// </summary>
    /// <value>Default: true.</value>
    public bool StopWhenSolved { get; set; } = true;

    /// <summary>Gets or sets a callback told after every finished run (on the training thread).</summary>
    /// <value>Default: null.</value>
    public IProgress<ClippingComparisonProgress>? Progress { get; set; }

    internal const int MaximumNumberOfSeeds = 1000;

    /// <summary>Checks every option.</summary>
    /// <exception cref="ArgumentOutOfRangeException"><see cref="NumberOfSeeds"/> is out of range.</exception>
    /// <exception cref="ArgumentException"><see cref="SolvedDescription"/> is blank while <see cref="SolvedWhen"/> is set.</exception>
    public void Validate()
    {
        if (NumberOfSeeds is < 1 or > MaximumNumberOfSeeds)
            throw new ArgumentOutOfRangeException(nameof(NumberOfSeeds), NumberOfSeeds,
                $"{nameof(NumberOfSeeds)} must be in [1, {MaximumNumberOfSeeds}]; got {NumberOfSeeds}. Use 3–10 seeds for a 95 % interval that means something.");
        if (SolvedWhen is not null && string.IsNullOrWhiteSpace(SolvedDescription))
            throw new ArgumentException($"{nameof(SolvedDescription)} is blank but {nameof(SolvedWhen)} is set: describe the criterion for the tables, e.g. \"test MSE <= 0.01\".", nameof(SolvedDescription));
    }
}
