using static TorchSharp.torch;

namespace ClipTrainer.Modeling;

/// <summary>
/// The reductions behind <see cref="SequencePooling"/>: recurrent outputs <c>[batch, time, directions × hidden]</c>
/// to one vector per row, reading only each row's valid steps.
/// </summary>
/// <remarks>
/// Callers pass outputs that are zero after each row's length (as <c>pad_packed_sequence</c> returns them) and run
/// inside their own dispose scope; temporaries are left to that scope.
/// </remarks>
internal static class SequencePoolingFunctions
{
    /// <param name="outputs">Recurrent outputs, zero after each row's length.</param>
    /// <param name="lengths">Int64 <c>[batch]</c> on the outputs' device, or <see langword="null"/> when all steps are valid.</param>
    /// <param name="pooling">The reduction.</param>
    /// <param name="hiddenSize">Features per direction.</param>
    /// <param name="bidirectional">Whether the last dimension holds forward then backward features.</param>
    public static Tensor Pool(Tensor outputs, Tensor? lengths, SequencePooling pooling, int hiddenSize, bool bidirectional) =>
        pooling switch
        {
            SequencePooling.LastStep => LastStep(outputs, lengths, hiddenSize, bidirectional),
            SequencePooling.Mean => Mean(outputs, lengths),
            SequencePooling.Max => Max(outputs, lengths),
            _ => throw new ArgumentOutOfRangeException(nameof(pooling), pooling, $"Unknown pooling {pooling}."),
        };

    // The forward direction ends at the last valid step; the backward direction ends at step 0.
    private static Tensor LastStep(Tensor outputs, Tensor? lengths, int hiddenSize, bool bidirectional)
    {
        Tensor last;
        if (lengths is null)
        {
            last = outputs.select(1, outputs.size(1) - 1);
        }
        else
        {
            var index = (lengths - 1).view(-1, 1, 1).expand(outputs.size(0), 1, outputs.size(2));
            last = outputs.gather(1, index).squeeze(1);
        }

        if (!bidirectional)
        {
            return last;
        }

        var backwardEnd = outputs.select(1, 0).narrow(1, hiddenSize, hiddenSize);
        return cat(new[] { last.narrow(1, 0, hiddenSize), backwardEnd }, 1);
    }

    private static Tensor Mean(Tensor outputs, Tensor? lengths)
    {
        if (lengths is null)
        {
            return outputs.mean(new long[] { 1 });
        }

        return outputs.sum(1) / lengths.unsqueeze(1).to(outputs.dtype);
    }

    private static Tensor Max(Tensor outputs, Tensor? lengths)
    {
        if (lengths is null)
        {
            return outputs.amax(new long[] { 1 });
        }

        var padding = arange(outputs.size(1), ScalarType.Int64, outputs.device).unsqueeze(0) >= lengths.unsqueeze(1);
        return outputs.masked_fill(padding.unsqueeze(2), float.NegativeInfinity).amax(new long[] { 1 });
    }
}
