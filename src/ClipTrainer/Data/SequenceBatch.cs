using static TorchSharp.torch;

namespace ClipTrainer.Data;

/// <summary>
/// One training batch as tensors: zero-padded features, lengths and labels, plus the dataset rows they came from.
/// </summary>
/// <remarks>
/// Ownership: the batch owns its three tensors and <see cref="Dispose"/> releases them. Like every TorchSharp tensor
/// they are also registered with the dispose scope that was current on the thread when the batch was made, so the usual
/// pattern is one scope per training step (<c>using var scope = torch.NewDisposeScope(); using var batch = …;</c>);
/// disposing both the batch and the scope is safe. Move a tensor out of the scope on purpose if it must outlive it.
/// </remarks>
public sealed class SequenceBatch : IDisposable
{
    /// <summary>Creates a batch that takes ownership of the tensors (for a batch source of your own).</summary>
    /// <param name="features">Float32 <c>[Count, T, InputSize]</c>, zero-padded after each row's length.</param>
    /// <param name="lengths">Int64 <c>[Count]</c>, each in [1, T].</param>
    /// <param name="labels"><c>[Count]</c>: int64 class indices (multiclass) or float32 targets (binary 0/1, regression).</param>
    /// <param name="rowIndices">The source row of each batch row, or null to number them 0..Count−1.</param>
    /// <exception cref="ArgumentNullException"><paramref name="features"/>, <paramref name="lengths"/> or <paramref name="labels"/> is null.</exception>
    /// <exception cref="ArgumentException">The tensors do not have one row per batch row.</exception>
    public SequenceBatch(Tensor features, Tensor lengths, Tensor labels, IReadOnlyList<int>? rowIndices = null)
    {
        ArgumentNullException.ThrowIfNull(features);
        ArgumentNullException.ThrowIfNull(lengths);
        ArgumentNullException.ThrowIfNull(labels);
        // size(d) rather than shape: one native call each, where shape allocates an array through a callback per call.
        var count = features.dim() == 3 ? features.size(0) : -1;
        if (count < 1 || lengths.dim() != 1 || lengths.size(0) != count || labels.dim() != 1 || labels.size(0) != count
            || (rowIndices is not null && rowIndices.Count != count))
        {
            throw new ArgumentException(
                $"A batch needs features [Count, T, InputSize], lengths [Count], labels [Count] (and one row index per row); got features " +
                $"[{string.Join(", ", features.shape)}], lengths [{string.Join(", ", lengths.shape)}], labels [{string.Join(", ", labels.shape)}].",
                nameof(features));
        }

        rowIndices ??= Enumerable.Range(0, (int)count).ToArray();
        Features = features;
        _lengths = lengths;
        Labels = labels;
        RowIndices = rowIndices;
    }

    /// <summary>
    /// A batch of the library's batch sources: <paramref name="lengths"/> null when every row has all
    /// <paramref name="time"/> steps (the loop never reads them then; <see cref="Lengths"/> makes them if asked).
    /// </summary>
    internal SequenceBatch(Tensor features, Tensor? lengths, int time, Tensor labels, IReadOnlyList<int> rowIndices)
    {
        Features = features;
        _lengths = lengths;
        _time = time;
        Labels = labels;
        RowIndices = rowIndices;
        IsFullLength = lengths is null;
    }

    private Tensor? _lengths;
    private readonly int _time;

    /// <summary>
    /// Gets the features: float32 <c>[Count, T, InputSize]</c>, where T is the longest row's length in this batch;
    /// steps past a row's length are 0.
    /// </summary>
    public Tensor Features { get; }

    /// <summary>
    /// Gets each row's number of valid time steps: int64 <c>[Count]</c>, each in [1, T].
    /// </summary>
    /// <remarks>For a batch of full-length rows from the library's batch sources it is made on first use, in no dispose
    /// scope (so a scope of the caller's cannot free it while the batch lives): the batch owns it and disposes it.</remarks>
    public Tensor Lengths => _lengths ??= full([Count], (long)_time, ScalarType.Int64, Features.device).DetachFromDisposeScope();

    /// <summary>
    /// Gets the labels <c>[Count]</c>: int64 class indices for multiclass classification; float32 targets (0/1 for binary
    /// classification, values for regression) otherwise.
    /// </summary>
    public Tensor Labels { get; }

    /// <summary>
    /// Gets the dataset row index of each batch row, in batch order.
    /// </summary>
    public IReadOnlyList<int> RowIndices { get; }

    /// <summary>
    /// Gets the number of rows in the batch.
    /// </summary>
    public int Count => RowIndices.Count;

    /// <summary>Whether the batch maker knows every row has all T steps (false for a batch of unknown lengths).</summary>
    internal bool IsFullLength { get; }

    /// <summary>
    /// The lengths the model port gets: null when every row is full length, which the port documents as "all steps
    /// valid" and which spares the model reading the lengths tensor back to the host every step; else <see cref="Lengths"/>.
    /// </summary>
    internal Tensor? ModelLengths => IsFullLength ? null : Lengths;

    /// <summary>
    /// Releases the three tensors. Safe to call more than once.
    /// </summary>
    public void Dispose()
    {
        Features.Dispose();
        _lengths?.Dispose();
        Labels.Dispose();
    }
}
