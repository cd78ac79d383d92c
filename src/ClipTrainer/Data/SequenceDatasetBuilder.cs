namespace ClipTrainer.Data;

/// <summary>
/// Accumulates rows for a <see cref="SequenceDataset"/>; callers have already checked each sequence's length.
/// </summary>
/// <remarks>
/// The features go into chunks that never move: each new chunk twice the previous one up to
/// <see cref="MaximumChunkValues"/> (or one row, if longer), and <see cref="Build"/> trims only the last one. So the
/// features exist once, plus at most one chunk, whether or not the row count is known in advance; a doubling list and its
/// final <c>ToArray</c> held them up to three times at the peak (the quick benchmark's peak-RSS row measures it).
/// A row never straddles two chunks, so every row is one span.
/// </remarks>
internal sealed class SequenceDatasetBuilder
{
    /// <summary>The largest chunk: 4M values (16 MB), the most a chunk can waste before its trim.</summary>
    internal const int MaximumChunkValues = 1 << 22;

    private const int FirstChunkValues = 1 << 14;

    private readonly int inputSize;
    private readonly SequenceTask kind;
    private readonly int numberOfClasses;
    private readonly List<float[]> chunks = [];
    private readonly List<int> chunkOf;
    private readonly List<int> offsets;
    private readonly List<int> lengths;
    private readonly List<long> classIndices;
    private readonly List<float> targets;
    private int filled; // values used in the last chunk
    private long skippedRowCount;

    /// <param name="inputSize">Values per time step.</param>
    /// <param name="kind">The task the labels serve.</param>
    /// <param name="numberOfClasses">The class count (multiclass), 2 (binary) or 0.</param>
    /// <param name="expectedRows">The number of rows expected (sizes the per-row lists), or 0 when not known.</param>
    public SequenceDatasetBuilder(int inputSize, SequenceTask kind, int numberOfClasses, int expectedRows = 0)
    {
        this.inputSize = inputSize;
        this.kind = kind;
        this.numberOfClasses = numberOfClasses;
        (chunkOf, offsets, lengths) = (new(expectedRows), new(expectedRows), new(expectedRows));
        classIndices = new List<long>(kind == SequenceTask.MulticlassClassification ? expectedRows : 0);
        targets = new List<float>(kind == SequenceTask.MulticlassClassification ? 0 : expectedRows);
    }

    public void AddClassIndex(ReadOnlySpan<float> sequence, long classIndex)
    {
        AddSequence(sequence);
        classIndices.Add(classIndex);
    }

    public void AddTarget(ReadOnlySpan<float> sequence, float target)
    {
        AddSequence(sequence);
        targets.Add(target);
    }

    public void SkipRow() => skippedRowCount++;

    public SequenceDataset Build()
    {
        if (chunks.Count > 0 && filled < chunks[^1].Length) chunks[^1] = chunks[^1].AsSpan(0, filled).ToArray();
        return new(inputSize, kind, numberOfClasses, chunks.ToArray(), chunkOf.ToArray(), offsets.ToArray(), lengths.ToArray(),
            classIndices.ToArray(), targets.ToArray(), skippedRowCount);
    }

    private void AddSequence(ReadOnlySpan<float> sequence)
    {
        if (lengths.Count == Array.MaxLength)
        {
            throw new InvalidOperationException($"The dataset would exceed {Array.MaxLength} rows; read it in parts.");
        }

        if (chunks.Count == 0 || chunks[^1].Length - filled < sequence.Length)
        {
            var next = chunks.Count == 0 ? FirstChunkValues : Math.Min(MaximumChunkValues, 2 * chunks[^1].Length);
            chunks.Add(new float[Math.Max(next, sequence.Length)]);
            filled = 0;
        }

        sequence.CopyTo(chunks[^1].AsSpan(filled));
        chunkOf.Add(chunks.Count - 1);
        offsets.Add(filled);
        lengths.Add(sequence.Length / inputSize);
        filled += sequence.Length;
    }
}
