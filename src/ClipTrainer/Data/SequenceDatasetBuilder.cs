namespace ClipTrainer.Data;

/// <summary>
/// Accumulates rows for a <see cref="SequenceDataset"/>; callers have already checked each sequence's length.
/// </summary>
internal sealed class SequenceDatasetBuilder
{
    private readonly int inputSize;
    private readonly SequenceTask kind;
    private readonly int numberOfClasses;
    private readonly List<float> features = new();
    private readonly List<int> lengths = new();
    private readonly List<long> classIndices = new();
    private readonly List<float> targets = new();
    private long skippedRowCount;

    public SequenceDatasetBuilder(int inputSize, SequenceTask kind, int numberOfClasses)
    {
        this.inputSize = inputSize;
        this.kind = kind;
        this.numberOfClasses = numberOfClasses;
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

    public SequenceDataset Build() => new(
        inputSize, kind, numberOfClasses, features.ToArray(), lengths.ToArray(), classIndices.ToArray(), targets.ToArray(), skippedRowCount);

    private void AddSequence(ReadOnlySpan<float> sequence)
    {
        if ((long)features.Count + sequence.Length > Array.MaxLength)
        {
            throw new InvalidOperationException($"The dataset would exceed {Array.MaxLength} feature values; read it in parts.");
        }

        features.AddRange(sequence);
        lengths.Add(sequence.Length / inputSize);
    }
}
