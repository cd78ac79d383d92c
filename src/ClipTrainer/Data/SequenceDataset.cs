using static TorchSharp.torch;

namespace ClipTrainer.Data;

/// <summary>
/// Labelled sequences held in memory: each row's features (time-major, a positive multiple of
/// <see cref="InputSize"/> values) and its label, in the order they were read.
/// </summary>
/// <remarks>
/// Made by <see cref="SequenceColumnReader.Read"/> from an <c>IDataView</c>, or directly from arrays with
/// <see cref="CreateMulticlass"/>, <see cref="CreateBinary"/> and <see cref="CreateRegression"/>. Immutable; batch it
/// with <see cref="SequenceBatcher"/>.
/// </remarks>
public sealed class SequenceDataset
{
    private readonly float[][] chunks;
    private readonly int[] chunkOf;
    private readonly int[] offsets;
    private readonly int[] lengths;
    private readonly long[] classIndices;
    private readonly float[] targets;

    internal SequenceDataset(
        int inputSize,
        SequenceTask labelKind,
        int numberOfClasses,
        float[][] chunks,
        int[] chunkOf,
        int[] offsets,
        int[] lengths,
        long[] classIndices,
        float[] targets,
        long skippedRowCount)
    {
        InputSize = inputSize;
        LabelKind = labelKind;
        NumberOfClasses = numberOfClasses;
        this.chunks = chunks;
        this.chunkOf = chunkOf;
        this.offsets = offsets;
        this.lengths = lengths;
        this.classIndices = classIndices;
        this.targets = targets;
        SkippedRowCount = skippedRowCount;
        foreach (var length in lengths) MaximumSequenceLength = Math.Max(MaximumSequenceLength, length);
    }

    /// <summary>
    /// Gets the number of rows.
    /// </summary>
    public int Count => lengths.Length;

    /// <summary>
    /// Gets the number of features per time step.
    /// </summary>
    public int InputSize { get; }

    /// <summary>
    /// Gets the task the labels serve, which decides whether <see cref="GetClassIndex"/> or <see cref="GetTarget"/>
    /// applies.
    /// </summary>
    public SequenceTask LabelKind { get; }

    /// <summary>
    /// Gets the number of classes: the key count for multiclass classification, 2 for binary classification, 0 for
    /// regression.
    /// </summary>
    public int NumberOfClasses { get; }

    /// <summary>
    /// Gets the number of time steps of the longest row (0 when the dataset is empty).
    /// </summary>
    public int MaximumSequenceLength { get; }

    /// <summary>
    /// Gets the number of source rows left out because their label was missing (key value 0, or NaN).
    /// </summary>
    public long SkippedRowCount { get; }

    /// <summary>
    /// Gets a row's features, time-major: step <c>t</c>'s features are at <c>[t × InputSize, (t + 1) × InputSize)</c>.
    /// </summary>
    /// <param name="row">The row index. Range: [0, Count).</param>
    /// <returns><c>GetSequenceLength(row) × InputSize</c> values.</returns>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="row"/> is outside [0, Count).</exception>
    public ReadOnlySpan<float> GetFeatures(int row)
    {
        CheckRow(row);
        return chunks[chunkOf[row]].AsSpan(offsets[row], lengths[row] * InputSize);
    }

    /// <summary>
    /// Gets a row's number of time steps.
    /// </summary>
    /// <param name="row">The row index. Range: [0, Count).</param>
    /// <returns>The number of time steps, at least 1.</returns>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="row"/> is outside [0, Count).</exception>
    public int GetSequenceLength(int row)
    {
        CheckRow(row);
        return lengths[row];
    }

    /// <summary>
    /// Gets a row's 0-based class index (the key value − 1) for multiclass classification.
    /// </summary>
    /// <param name="row">The row index. Range: [0, Count).</param>
    /// <returns>The class index, in [0, NumberOfClasses).</returns>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="row"/> is outside [0, Count).</exception>
    /// <exception cref="InvalidOperationException">The dataset is not for multiclass classification.</exception>
    public long GetClassIndex(int row)
    {
        CheckRow(row);
        if (LabelKind != SequenceTask.MulticlassClassification)
        {
            throw new InvalidOperationException($"Class indices exist only for multiclass classification; this dataset is for {LabelKind}.");
        }

        return classIndices[row];
    }

    /// <summary>
    /// Gets a row's target: 0 or 1 for binary classification, the value for regression.
    /// </summary>
    /// <param name="row">The row index. Range: [0, Count).</param>
    /// <returns>The target.</returns>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="row"/> is outside [0, Count).</exception>
    /// <exception cref="InvalidOperationException">The dataset is for multiclass classification.</exception>
    public float GetTarget(int row)
    {
        CheckRow(row);
        if (LabelKind == SequenceTask.MulticlassClassification)
        {
            throw new InvalidOperationException("Targets exist only for binary classification and regression; use GetClassIndex for multiclass classification.");
        }

        return targets[row];
    }

    /// <summary>The labels of the given rows as one tensor (int64 class indices or float32 targets), written in one loop.</summary>
    internal Tensor GetLabels(int[] rows, Device? device) => LabelKind == SequenceTask.MulticlassClassification
        ? SequencePadding.Int64(rows.Length, b => classIndices[rows[b]], device)
        : SequencePadding.Float32(rows.Length, b => targets[rows[b]], device);

    /// <summary>
    /// Creates a multiclass dataset from arrays.
    /// </summary>
    /// <param name="inputSize">The number of features per time step. Range: &gt; 0.</param>
    /// <param name="numberOfClasses">The number of classes. Range: &gt; 0.</param>
    /// <param name="sequences">Each row's features, time-major; each a positive multiple of <paramref name="inputSize"/> long.</param>
    /// <param name="classIndices">Each row's class index, in [0, numberOfClasses).</param>
    /// <returns>A dataset holding copies of the values.</returns>
    /// <exception cref="ArgumentNullException">An argument is <see langword="null"/>.</exception>
    /// <exception cref="ArgumentException">The lists differ in length, a sequence's length is not a positive multiple
    /// of <paramref name="inputSize"/>, or a class index is out of range.</exception>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="inputSize"/> or <paramref name="numberOfClasses"/> is not positive.</exception>
    public static SequenceDataset CreateMulticlass(int inputSize, int numberOfClasses, IReadOnlyList<float[]> sequences, IReadOnlyList<long> classIndices)
    {
        ArgumentNullException.ThrowIfNull(classIndices);
        if (!(numberOfClasses > 0))
        {
            throw new ArgumentOutOfRangeException(nameof(numberOfClasses), numberOfClasses, $"NumberOfClasses must be greater than 0; got {numberOfClasses}.");
        }

        var builder = CreateBuilder(inputSize, SequenceTask.MulticlassClassification, numberOfClasses, sequences, classIndices.Count, nameof(classIndices));
        for (var row = 0; row < sequences.Count; row++)
        {
            var classIndex = classIndices[row];
            if (classIndex < 0 || classIndex >= numberOfClasses)
            {
                throw new ArgumentException($"Class index {classIndex} of row {row} is outside [0, {numberOfClasses}).", nameof(classIndices));
            }

            builder.AddClassIndex(CheckSequence(sequences[row], row, inputSize, nameof(sequences)), classIndex);
        }

        return builder.Build();
    }

    /// <summary>
    /// Creates a binary-classification dataset from arrays.
    /// </summary>
    /// <param name="inputSize">The number of features per time step. Range: &gt; 0.</param>
    /// <param name="sequences">Each row's features, time-major; each a positive multiple of <paramref name="inputSize"/> long.</param>
    /// <param name="labels">Each row's label.</param>
    /// <returns>A dataset holding copies of the values, with targets 1 for <see langword="true"/> and 0 for <see langword="false"/>.</returns>
    /// <exception cref="ArgumentNullException">An argument is <see langword="null"/>.</exception>
    /// <exception cref="ArgumentException">The lists differ in length, or a sequence's length is not a positive multiple of <paramref name="inputSize"/>.</exception>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="inputSize"/> is not positive.</exception>
    public static SequenceDataset CreateBinary(int inputSize, IReadOnlyList<float[]> sequences, IReadOnlyList<bool> labels)
    {
        ArgumentNullException.ThrowIfNull(labels);
        var builder = CreateBuilder(inputSize, SequenceTask.BinaryClassification, 2, sequences, labels.Count, nameof(labels));
        for (var row = 0; row < sequences.Count; row++)
        {
            builder.AddTarget(CheckSequence(sequences[row], row, inputSize, nameof(sequences)), labels[row] ? 1f : 0f);
        }

        return builder.Build();
    }

    /// <summary>
    /// Creates a regression dataset from arrays.
    /// </summary>
    /// <param name="inputSize">The number of features per time step. Range: &gt; 0.</param>
    /// <param name="sequences">Each row's features, time-major; each a positive multiple of <paramref name="inputSize"/> long.</param>
    /// <param name="targets">Each row's target; NaN is not allowed (the reader skips such rows instead).</param>
    /// <returns>A dataset holding copies of the values.</returns>
    /// <exception cref="ArgumentNullException">An argument is <see langword="null"/>.</exception>
    /// <exception cref="ArgumentException">The lists differ in length, a sequence's length is not a positive multiple
    /// of <paramref name="inputSize"/>, or a target is NaN.</exception>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="inputSize"/> is not positive.</exception>
    public static SequenceDataset CreateRegression(int inputSize, IReadOnlyList<float[]> sequences, IReadOnlyList<float> targets)
    {
        ArgumentNullException.ThrowIfNull(targets);
        var builder = CreateBuilder(inputSize, SequenceTask.Regression, 0, sequences, targets.Count, nameof(targets));
        for (var row = 0; row < sequences.Count; row++)
        {
            if (float.IsNaN(targets[row]))
            {
                throw new ArgumentException($"Target of row {row} is NaN.", nameof(targets));
            }

            builder.AddTarget(CheckSequence(sequences[row], row, inputSize, nameof(sequences)), targets[row]);
        }

        return builder.Build();
    }

    private static SequenceDatasetBuilder CreateBuilder(
        int inputSize, SequenceTask kind, int numberOfClasses, IReadOnlyList<float[]> sequences, int labelCount, string labelsName)
    {
        ArgumentNullException.ThrowIfNull(sequences);
        SequenceShapeArguments.CheckInputSize(inputSize, nameof(inputSize));

        if (labelCount != sequences.Count)
        {
            throw new ArgumentException($"Expected one label per sequence ({sequences.Count}), got {labelCount}.", labelsName);
        }

        return new SequenceDatasetBuilder(inputSize, kind, numberOfClasses, sequences.Count);
    }

    private static ReadOnlySpan<float> CheckSequence(float[] sequence, int row, int inputSize, string parameterName)
    {
        if (!SequenceShapeArguments.FitsInputSize(sequence?.Length ?? 0, inputSize))
        {
            throw new ArgumentException(SequenceShapeArguments.RowLengthMessage($"Sequence {row}", sequence?.Length ?? 0, inputSize), parameterName);
        }

        return sequence;
    }

    private void CheckRow(int row)
    {
        if ((uint)row >= (uint)Count)
        {
            throw new ArgumentOutOfRangeException(nameof(row), row, $"Row must be in [0, {Count}); got {row}.");
        }
    }
}
