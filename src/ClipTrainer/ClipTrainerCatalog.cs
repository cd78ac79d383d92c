using ClipTrainer.Data;
using ClipTrainer.Clipping;
using Microsoft.ML;

namespace ClipTrainer;

/// <summary>
/// The <c>ClipTrainer</c> extension methods on ML.NET's trainer catalogs. Each task has a short overload (columns,
/// sequence shape, clipping) and one taking <see cref="SequenceTrainerOptions"/>.
/// </summary>
public static class ClipTrainerCatalog
{
    /// <summary>Creates a multiclass sequence classifier with gradient clipping (label: a key column).</summary>
    /// <param name="catalog">The multiclass trainer catalog.</param>
    /// <param name="inputSize">Features per time step. Range: &gt; 0.</param>
    /// <param name="sequenceLength">Time steps when all sequences have the same length; null for variable length.</param>
    /// <param name="labelColumnName">The label column (key type). Default: "Label".</param>
    /// <param name="featureColumnName">The feature column (float vector, time-major). Default: "Features".</param>
    /// <param name="clippingMode">The clipping rule. Default: <see cref="ClippingMode.GlobalNorm"/>.</param>
    /// <param name="clippingThreshold">The norm threshold (or value bound for <see cref="ClippingMode.Value"/>). Range: &gt; 0. Default: 1.</param>
    /// <param name="normType">The norm's order p. Range: ≥ 1 or +∞. Default: 2.</param>
    /// <returns>The estimator.</returns>
    /// <exception cref="ArgumentOutOfRangeException">An argument is out of range.</exception>
    public static SequenceTrainer ClipTrainer(this MulticlassClassificationCatalog.MulticlassClassificationTrainers catalog,
        int inputSize, int? sequenceLength = null,
        string labelColumnName = SequenceTrainerDefaults.LabelColumnName, string featureColumnName = SequenceTrainerDefaults.FeatureColumnName,
        ClippingMode clippingMode = GradientClippingDefaults.Mode, double clippingThreshold = GradientClippingDefaults.Threshold,
        double normType = GradientClippingDefaults.NormType) =>
        Create(catalog, SequenceTask.MulticlassClassification, inputSize, sequenceLength, labelColumnName, featureColumnName, clippingMode, clippingThreshold, normType);

    /// <summary>Creates a multiclass sequence classifier from full options.</summary>
    /// <param name="catalog">The multiclass trainer catalog.</param>
    /// <param name="options">The options; copied and checked now.</param>
    /// <returns>The estimator.</returns>
    /// <exception cref="ArgumentNullException"><paramref name="options"/> is null.</exception>
    /// <exception cref="ArgumentOutOfRangeException">An option is out of range.</exception>
    public static SequenceTrainer ClipTrainer(this MulticlassClassificationCatalog.MulticlassClassificationTrainers catalog, SequenceTrainerOptions options) =>
        Create(catalog, SequenceTask.MulticlassClassification, options);

    /// <summary>Creates a binary sequence classifier with gradient clipping (label: a Boolean column).</summary>
    /// <param name="catalog">The binary trainer catalog.</param>
    /// <param name="inputSize">Features per time step. Range: &gt; 0.</param>
    /// <param name="sequenceLength">Time steps when all sequences have the same length; null for variable length.</param>
    /// <param name="labelColumnName">The label column (Boolean). Default: "Label".</param>
    /// <param name="featureColumnName">The feature column (float vector, time-major). Default: "Features".</param>
    /// <param name="clippingMode">The clipping rule. Default: <see cref="ClippingMode.GlobalNorm"/>.</param>
    /// <param name="clippingThreshold">The norm threshold (or value bound for <see cref="ClippingMode.Value"/>). Range: &gt; 0. Default: 1.</param>
    /// <param name="normType">The norm's order p. Range: ≥ 1 or +∞. Default: 2.</param>
    /// <returns>The estimator.</returns>
    /// <exception cref="ArgumentOutOfRangeException">An argument is out of range.</exception>
    public static SequenceTrainer ClipTrainer(this BinaryClassificationCatalog.BinaryClassificationTrainers catalog,
        int inputSize, int? sequenceLength = null,
        string labelColumnName = SequenceTrainerDefaults.LabelColumnName, string featureColumnName = SequenceTrainerDefaults.FeatureColumnName,
        ClippingMode clippingMode = GradientClippingDefaults.Mode, double clippingThreshold = GradientClippingDefaults.Threshold,
        double normType = GradientClippingDefaults.NormType) =>
        Create(catalog, SequenceTask.BinaryClassification, inputSize, sequenceLength, labelColumnName, featureColumnName, clippingMode, clippingThreshold, normType);

    /// <summary>Creates a binary sequence classifier from full options.</summary>
    /// <param name="catalog">The binary trainer catalog.</param>
    /// <param name="options">The options; copied and checked now.</param>
    /// <returns>The estimator.</returns>
    /// <exception cref="ArgumentNullException"><paramref name="options"/> is null.</exception>
    /// <exception cref="ArgumentOutOfRangeException">An option is out of range.</exception>
    public static SequenceTrainer ClipTrainer(this BinaryClassificationCatalog.BinaryClassificationTrainers catalog, SequenceTrainerOptions options) =>
        Create(catalog, SequenceTask.BinaryClassification, options);

    /// <summary>Creates a sequence regressor with gradient clipping (label: a Single column).</summary>
    /// <param name="catalog">The regression trainer catalog.</param>
    /// <param name="inputSize">Features per time step. Range: &gt; 0.</param>
    /// <param name="sequenceLength">Time steps when all sequences have the same length; null for variable length.</param>
    /// <param name="labelColumnName">The label column (Single). Default: "Label".</param>
    /// <param name="featureColumnName">The feature column (float vector, time-major). Default: "Features".</param>
    /// <param name="clippingMode">The clipping rule. Default: <see cref="ClippingMode.GlobalNorm"/>.</param>
    /// <param name="clippingThreshold">The norm threshold (or value bound for <see cref="ClippingMode.Value"/>). Range: &gt; 0. Default: 1.</param>
    /// <param name="normType">The norm's order p. Range: ≥ 1 or +∞. Default: 2.</param>
    /// <returns>The estimator.</returns>
    /// <exception cref="ArgumentOutOfRangeException">An argument is out of range.</exception>
    public static SequenceTrainer ClipTrainer(this RegressionCatalog.RegressionTrainers catalog,
        int inputSize, int? sequenceLength = null,
        string labelColumnName = SequenceTrainerDefaults.LabelColumnName, string featureColumnName = SequenceTrainerDefaults.FeatureColumnName,
        ClippingMode clippingMode = GradientClippingDefaults.Mode, double clippingThreshold = GradientClippingDefaults.Threshold,
        double normType = GradientClippingDefaults.NormType) =>
        Create(catalog, SequenceTask.Regression, inputSize, sequenceLength, labelColumnName, featureColumnName, clippingMode, clippingThreshold, normType);

    /// <summary>Creates a sequence regressor from full options.</summary>
    /// <param name="catalog">The regression trainer catalog.</param>
    /// <param name="options">The options; copied and checked now.</param>
    /// <returns>The estimator.</returns>
    /// <exception cref="ArgumentNullException"><paramref name="options"/> is null.</exception>
    /// <exception cref="ArgumentOutOfRangeException">An option is out of range.</exception>
    public static SequenceTrainer ClipTrainer(this RegressionCatalog.RegressionTrainers catalog, SequenceTrainerOptions options) =>
        Create(catalog, SequenceTask.Regression, options);

    private static SequenceTrainer Create(object catalog, SequenceTask task, int inputSize, int? sequenceLength,
        string labelColumnName, string featureColumnName, ClippingMode clippingMode, double clippingThreshold, double normType)
    {
        // The short overload's own arguments are checked under their own names before they become options.
        SequenceShapeArguments.Check(inputSize, sequenceLength, nameof(inputSize), nameof(sequenceLength));
        ArgumentException.ThrowIfNullOrWhiteSpace(labelColumnName);
        ArgumentException.ThrowIfNullOrWhiteSpace(featureColumnName);
        if (!Enum.IsDefined(clippingMode))
            throw new ArgumentOutOfRangeException(nameof(clippingMode), clippingMode, $"clippingMode must be a defined ClippingMode; got {clippingMode}.");
        ClippingArguments.CheckThreshold(clippingThreshold, nameof(clippingThreshold));
        ClippingArguments.CheckNormType(normType, nameof(normType));
        return Create(catalog, task, new SequenceTrainerOptions
        {
            InputSize = inputSize,
            SequenceLength = sequenceLength,
            LabelColumnName = labelColumnName,
            FeatureColumnName = featureColumnName,
            Clipping = new GradientClippingOptions { Mode = clippingMode, Threshold = clippingThreshold, NormType = normType },
        });
    }

    private static SequenceTrainer Create(object catalog, SequenceTask task, SequenceTrainerOptions options)
    {
        ArgumentNullException.ThrowIfNull(catalog);
        return new SequenceTrainer(task, options);
    }
}
