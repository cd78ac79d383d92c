using System.Globalization;
using System.Text;
using ClipTrainer.Clipping;

namespace ClipTrainer.Training;

/// <summary>
/// What a <see cref="ThresholdProbe"/> measured: the pre-clip global gradient norm of every warm-up step run without
/// clipping, their statistics, and the thresholds they suggest, ready to turn into clipping options
/// (<see cref="ToClippingOptions"/>). Prints as a Markdown table (<see cref="ToString"/>).
/// </summary>
/// <remarks>
/// <para>Statistics are taken over the finite norms (a step whose gradients held NaN or ±∞, possible only under the
/// <see cref="NonFiniteGradientPolicy.SkipStep"/> or <see cref="NonFiniteGradientPolicy.ZeroNonFinite"/> policies, is
/// counted in <see cref="NonFiniteSteps"/> instead). Percentiles use NumPy's default linear interpolation: for the
/// n sorted norms x₀ ≤ … ≤ xₙ₋₁ and a percent q, h = (n − 1)·q/100 and the percentile is
/// x⌊h⌋ + (h − ⌊h⌋)·(x⌊h⌋+1 − x⌊h⌋). The standard deviation is the population one (NumPy's <c>std</c>, ddof = 0).</para>
/// <para><b>The suggested threshold</b> (<see cref="SuggestedThreshold"/>) follows Pascanu, Mikolov and Bengio 2013
/// ("On the difficulty of training recurrent neural networks", §3.2): set the threshold from statistics of the average
/// norm over a sufficiently large number of updates; they found training not very sensitive to it and well-behaved
/// even for rather small thresholds. The paper names no fixed multiple, so the suggestion is
/// <see cref="PascanuMultiple"/> = 1 × the mean norm: the average norm itself, which leaves typical steps alone and
/// clips the above-average ones, where the spikes are. <see cref="AutoClipThreshold"/> is the 10th percentile that
/// AutoClip (Seetharaman et al. 2020) would clip at after these steps.</para>
/// <para><b>Local thresholds.</b> Local-norm clipping compares each group's norm (a parameter or a layer, by the
/// options' <see cref="GradientClippingOptions.LocalScope"/>) with one threshold, so the same heuristic is applied to
/// the quantity that rule compares: <see cref="SuggestedLocalThreshold"/> is 1 × the mean of every group's norm over
/// every step (the probe records them with <see cref="TrainingSettings.RecordGradientNorms"/> at that scope).</para>
/// </remarks>
public sealed class ThresholdProbeReport
{
    /// <summary>The multiple of the mean norm that <see cref="SuggestedThreshold"/> is: 1 (see the remarks for why).</summary>
    public const double PascanuMultiple = 1.0;

    private readonly GradientClippingOptions _clipping;
    private readonly double[] _sorted;
    private readonly double[][] _groupNorms;

    internal ThresholdProbeReport(GradientClippingOptions clipping, IReadOnlyList<double> norms,
        IReadOnlyList<string> groupNames, IReadOnlyList<IReadOnlyList<double>> groupNorms)
    {
        _clipping = clipping.Clone();
        Norms = norms.ToArray();
        _sorted = norms.Where(double.IsFinite).Order().ToArray();
        GroupNames = groupNames.ToArray();
        _groupNorms = groupNorms.Select(step => step.ToArray()).ToArray();
        var pooled = _groupNorms.SelectMany(step => step).Where(double.IsFinite).ToArray();
        MeanGroupNorm = pooled.Length == 0 ? double.NaN : pooled.Average();
    }

    /// <summary>Gets how many warm-up steps ran: the steps asked for, or fewer when the run the options describe is shorter.</summary>
    public int Steps => Norms.Count;

    /// <summary>Gets p of the norms (the clipping options' <see cref="GradientClippingOptions.NormType"/>).</summary>
    public double NormType => _clipping.NormType;

    /// <summary>Gets the grouping of the local norms (the clipping options' <see cref="GradientClippingOptions.LocalScope"/>).</summary>
    public LocalNormScope LocalScope => _clipping.LocalScope;

    /// <summary>Gets the pre-clip global gradient norm of each step, in step order (NaN or ∞ on a non-finite step).</summary>
    public IReadOnlyList<double> Norms { get; }

    /// <summary>Gets how many steps had a non-finite norm (left out of every statistic).</summary>
    public int NonFiniteSteps => Norms.Count - _sorted.Length;

    /// <summary>Gets the names of the local-norm groups (parameters or layers, by <see cref="LocalScope"/>).</summary>
    public IReadOnlyList<string> GroupNames { get; }

    /// <summary>Gets the pre-clip norm of each group of <see cref="GroupNames"/> at each step: one array per step.</summary>
    public IReadOnlyList<IReadOnlyList<double>> GroupNorms => _groupNorms;

    /// <summary>Gets the mean of the finite norms (NaN when there is none).</summary>
    public double Mean => _sorted.Length == 0 ? double.NaN : _sorted.Average();

    /// <summary>Gets the median of the finite norms: <see cref="Percentile"/>(50).</summary>
    public double Median => Percentile(50);

    /// <summary>Gets the population standard deviation of the finite norms (NaN when there is none).</summary>
    public double StandardDeviation
    {
        get
        {
            if (_sorted.Length == 0) return double.NaN;
            var mean = Mean;
            return Math.Sqrt(_sorted.Sum(x => (x - mean) * (x - mean)) / _sorted.Length);
        }
    }

    /// <summary>Gets the smallest finite norm (NaN when there is none).</summary>
    public double Minimum => _sorted.Length == 0 ? double.NaN : _sorted[0];

    /// <summary>Gets the largest finite norm (NaN when there is none).</summary>
    public double Maximum => _sorted.Length == 0 ? double.NaN : _sorted[^1];

    /// <summary>Gets the suggested global-norm threshold: <see cref="PascanuMultiple"/> × <see cref="Mean"/>.</summary>
    public double SuggestedThreshold => PascanuMultiple * Mean;

    /// <summary>Gets the threshold AutoClip would use after these steps: the 10th percentile of the norms.</summary>
    public double AutoClipThreshold => Percentile(GradientClippingDefaults.AutoClipPercentile);

    /// <summary>Gets the mean of every group's finite norm over every step (NaN when none was recorded).</summary>
    public double MeanGroupNorm { get; }

    /// <summary>Gets the suggested local-norm threshold: <see cref="PascanuMultiple"/> × <see cref="MeanGroupNorm"/>.</summary>
    public double SuggestedLocalThreshold => PascanuMultiple * MeanGroupNorm;

    /// <summary>Returns the q-th percentile of the finite norms, with NumPy's default linear interpolation (see the remarks).</summary>
    /// <param name="percent">q. Range: [0, 100].</param>
    /// <returns>The percentile; NaN when no norm is finite.</returns>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="percent"/> is not in [0, 100].</exception>
    public double Percentile(double percent) => PercentileOfSorted(_sorted, percent);

    /// <summary>NumPy's linear-interpolation percentile of an ascending array.</summary>
    internal static double PercentileOfSorted(IReadOnlyList<double> sorted, double percent)
    {
        if (!(percent >= 0 && percent <= 100))
            throw new ArgumentOutOfRangeException(nameof(percent), percent,
                string.Create(CultureInfo.InvariantCulture, $"percent must be in [0, 100], but was {percent}."));
        if (sorted.Count == 0) return double.NaN;
        var h = (sorted.Count - 1) * percent / 100.0;
        var low = (int)Math.Floor(h);
        var high = Math.Min(low + 1, sorted.Count - 1);
        return sorted[low] + (h - low) * (sorted[high] - sorted[low]);
    }

    /// <summary>
    /// Returns a copy of the clipping options the probe ran with (norm type, local scope, non-finite policy), set to
    /// <paramref name="mode"/> with the suggested threshold(s): <see cref="ClippingMode.GlobalNorm"/> gets
    /// <see cref="SuggestedThreshold"/>, <see cref="ClippingMode.LocalNorm"/> gets <see cref="SuggestedLocalThreshold"/>,
    /// <see cref="ClippingMode.GlobalThenLocal"/> gets both (<see cref="GradientClippingOptions.Threshold"/> and
    /// <see cref="GradientClippingOptions.LocalThreshold"/>).
    /// </summary>
    /// <param name="mode">A norm mode whose threshold the probe can suggest: GlobalNorm, LocalNorm or GlobalThenLocal.</param>
    /// <returns>New, valid options.</returns>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="mode"/> is not one of those three.</exception>
    /// <exception cref="InvalidOperationException">A suggestion the mode needs is not a finite number &gt; 0 (every norm was 0 or non-finite).</exception>
    public GradientClippingOptions ToClippingOptions(ClippingMode mode)
    {
        if (mode is not (ClippingMode.GlobalNorm or ClippingMode.LocalNorm or ClippingMode.GlobalThenLocal))
            throw new ArgumentOutOfRangeException(nameof(mode), mode,
                $"The probe suggests thresholds for {nameof(ClippingMode.GlobalNorm)}, {nameof(ClippingMode.LocalNorm)} and " +
                $"{nameof(ClippingMode.GlobalThenLocal)}, not for {mode}: pass one of those, or set that mode's options yourself.");
        var options = _clipping.Clone();
        options.Mode = mode;
        options.RuleFactory = null;
        if (mode != ClippingMode.LocalNorm) options.Threshold = Usable(SuggestedThreshold, nameof(SuggestedThreshold));
        if (mode == ClippingMode.LocalNorm) options.Threshold = Usable(SuggestedLocalThreshold, nameof(SuggestedLocalThreshold));
        if (mode == ClippingMode.GlobalThenLocal) options.LocalThreshold = Usable(SuggestedLocalThreshold, nameof(SuggestedLocalThreshold));
        return options;
    }

    private double Usable(double threshold, string name) => threshold > 0 && double.IsFinite(threshold)
        ? threshold
        : throw new InvalidOperationException(string.Create(CultureInfo.InvariantCulture,
            $"The probe's {name} is {threshold}, not a usable threshold: its {Steps} steps had {NonFiniteSteps} non-finite norms and a mean of {Mean}. Probe more steps or check the data and learning rate."));

    /// <summary>Formats the report as a Markdown table: the statistics, the percentiles and the suggestions.</summary>
    /// <returns>The table, with a one-line title.</returns>
    public string ToMarkdown()
    {
        var text = new StringBuilder();
        text.AppendLine(Invariant($"Gradient-norm probe: {Steps} steps without clipping, p = {NormType}{(NonFiniteSteps > 0 ? Invariant($", {NonFiniteSteps} non-finite left out") : "")}"));
        text.AppendLine();
        text.AppendLine("| Statistic | Norm |");
        text.AppendLine("|---|---:|");
        void Row(string name, double value) => text.AppendLine(Invariant($"| {name} | {value:G5} |"));
        Row("Mean", Mean);
        Row("Standard deviation", StandardDeviation);
        Row("Minimum", Minimum);
        foreach (var q in new[] { 10.0, 25, 50, 75, 90, 99 }) Row(Invariant($"{q}th percentile{(q == 50 ? " (median)" : "")}"), Percentile(q));
        Row("Maximum", Maximum);
        Row(Invariant($"Suggested GlobalNorm threshold ({PascanuMultiple} × mean, Pascanu et al. 2013)"), SuggestedThreshold);
        Row(Invariant($"AutoClip threshold ({GradientClippingDefaults.AutoClipPercentile}th percentile)"), AutoClipThreshold);
        Row(Invariant($"Suggested LocalNorm threshold ({PascanuMultiple} × mean {LocalScope.ToString().ToLowerInvariant()} norm of {GroupNames.Count})"), SuggestedLocalThreshold);
        return text.ToString();
    }

    /// <summary>Formats the report as <see cref="ToMarkdown"/> does.</summary>
    /// <returns>The Markdown table.</returns>
    public override string ToString() => ToMarkdown();

    private static string Invariant(FormattableString text) => text.ToString(CultureInfo.InvariantCulture);
}
