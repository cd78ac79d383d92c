using static TorchSharp.torch;

namespace ClipTrainer.Clipping;

/// <summary>
/// The gradient list of one clip call, with what is already known about it: the <see cref="ContiguousGradients"/>
/// buffer whose views the gradients are, in order (then norms and scaling use fused calls on the buffer), and the
/// host value of the total norm the non-finite guard read (then the coefficient is computed on the host instead of
/// with three tensor operations).
/// </summary>
/// <remarks>
/// It exists so that <see cref="GradientNorms"/> and the rules keep their signatures: they receive an
/// <see cref="IReadOnlyList{T}"/> of gradients as before, and the fast paths recognise this type.
/// </remarks>
internal sealed class ClipCallGradients(IReadOnlyList<Tensor> gradients, ContiguousGradients? buffer) : IReadOnlyList<Tensor>
{
    private Tensor? _knownTotal;
    private double _knownTotalValue;

    public ContiguousGradients? Buffer { get; } = buffer;

    public int Count => gradients.Count;

    public Tensor this[int index] => gradients[index];

    /// <summary>Records that <paramref name="total"/> (this very tensor, until the gradients change) holds <paramref name="value"/>.</summary>
    public void RememberTotal(Tensor total, double value)
    {
        _knownTotal = total;
        _knownTotalValue = value;
    }

    public void ForgetTotal() => _knownTotal = null;

    public bool TryGetValue(Tensor total, out double value)
    {
        value = _knownTotalValue;
        return _knownTotal is not null && ReferenceEquals(_knownTotal, total) && !total.IsInvalid;
    }

    public IEnumerator<Tensor> GetEnumerator() => gradients.GetEnumerator();

    System.Collections.IEnumerator System.Collections.IEnumerable.GetEnumerator() => GetEnumerator();
}
