using System.Globalization;

namespace ClipTrainer.Modeling;

/// <summary>
/// The memory a <see cref="SequenceModel"/> needs, estimated from its options before anything is allocated, and the
/// check that refuses a model (or a training run) that cannot fit in the memory the process can still get.
/// </summary>
internal static class SequenceModelSize
{
    /// <summary>
    /// The most layers a model may have. A stack's layers run one after another at every time step: on this project's
    /// 2-core test machine (load ≈ 40), building 300 LSTM layers took 1.4 s and one forward of a 32 × 20 batch 53 s, so
    /// 100,000 layers would build for minutes and never train; recurrent stacks are trained with 1 to 8.
    /// </summary>
    public const int MaximumNumberOfLayers = 1000;

    private const long BytesPerValue = sizeof(float);

    /// <summary>The number of float32 parameters (recurrent weights and both biases per gate, then the head); saturates at <see cref="long.MaxValue"/>.</summary>
    public static long ParameterCount(SequenceModelOptions o)
    {
        try
        {
            checked
            {
                long gates = Gates(o.CellType), directions = o.Bidirectional ? 2 : 1, hidden = o.HiddenSize;
                long first = directions * gates * hidden * (o.InputSize + hidden + 2);
                long later = directions * gates * hidden * (directions * hidden + hidden + 2);
                return first + (o.NumberOfLayers - 1) * later + (directions * hidden + 1) * o.OutputSize;
            }
        }
        catch (OverflowException)
        {
            return long.MaxValue;
        }
    }

    /// <summary>
    /// The activations one training batch keeps for the backward pass: per layer, direction and time step the layer's
    /// input, its gates and its hidden (and cell) state, float32. A lower bound: libtorch's workspace comes on top.
    /// </summary>
    public static long ActivationBytes(SequenceModelOptions o, int batchSize, int sequenceLength)
    {
        try
        {
            checked
            {
                long directions = o.Bidirectional ? 2 : 1;
                long perStep = o.InputSize + (o.NumberOfLayers - 1) * directions * o.HiddenSize // layer inputs
                    + o.NumberOfLayers * directions * (Gates(o.CellType) + 2L) * o.HiddenSize; // gates, hidden and cell states
                return perStep * batchSize * sequenceLength * BytesPerValue;
            }
        }
        catch (OverflowException)
        {
            return long.MaxValue;
        }
    }

    /// <summary>
    /// Refuses a model whose estimate exceeds the memory available: <paramref name="copies"/> float32 copies of the
    /// parameters (1 to build; weights, gradients and the optimizer's moments to train) plus <paramref name="activationBytes"/>.
    /// </summary>
    /// <exception cref="ArgumentOutOfRangeException">It cannot fit; the parameter name is the size option that weighs most.</exception>
    public static void CheckFits(SequenceModelOptions options, int copies, long activationBytes, string purpose)
    {
        long parameters = ParameterCount(options);
        long needed = Add(Multiply(parameters, BytesPerValue * copies), activationBytes);
        long available = AvailableBytes();
        if (needed <= available) return;
        var option = DominantOption(options);
        throw new ArgumentOutOfRangeException(option, OptionValue(options, option), string.Create(CultureInfo.InvariantCulture,
            $"The model cannot fit in memory: {purpose} needs about {Format(needed)} ({(parameters == long.MaxValue ? "more than 2^63" : parameters.ToString("N0", CultureInfo.InvariantCulture))} " +
            $"parameters × {copies} cop{(copies == 1 ? "y" : "ies")}{(activationBytes > 0 ? $" + {Format(activationBytes)} of activations per batch" : "")}), " +
            $"but {Format(available)} is available. The sizes: CellType {options.CellType}, InputSize {options.InputSize}, HiddenSize {options.HiddenSize}, " +
            $"NumberOfLayers {options.NumberOfLayers}, Bidirectional {options.Bidirectional}, OutputSize {options.OutputSize}. Lower {option} " +
            $"(the option that weighs most){(activationBytes > 0 ? ", BatchSize or the sequence length" : "")}."));
    }

    /// <summary>The memory this process can still get: the GC's limit (a container's) and the system's available memory, whichever is lower.</summary>
    public static long AvailableBytes()
    {
        long limit = GC.GetGCMemoryInfo().TotalAvailableMemoryBytes;
        try
        {
            // /proc/meminfo's MemAvailable counts reclaimable caches; the GC's figure is the total, not what is free.
            var line = File.ReadLines("/proc/meminfo").FirstOrDefault(l => l.StartsWith("MemAvailable:", StringComparison.Ordinal));
            if (line is not null && long.TryParse(line.Split(' ', StringSplitOptions.RemoveEmptyEntries)[1], NumberStyles.Integer, CultureInfo.InvariantCulture, out var kilobytes))
                limit = Math.Min(limit, kilobytes * 1024);
        }
        catch (IOException) { } // not Linux: the GC's figure alone
        catch (UnauthorizedAccessException) { }

        return limit;
    }

    public static string Format(long bytes) => bytes == long.MaxValue
        ? "more than 8 EiB"
        : bytes >= 1L << 30
            ? string.Create(CultureInfo.InvariantCulture, $"{bytes / (double)(1L << 30):F1} GiB")
            : string.Create(CultureInfo.InvariantCulture, $"{bytes / (double)(1L << 20):F1} MiB");

    private static long Gates(RecurrentCellType cell) => cell switch { RecurrentCellType.Lstm => 4, RecurrentCellType.Gru => 3, _ => 1 };

    /// <summary>The size option whose reduction to 1 shrinks the parameter count most.</summary>
    private static string DominantOption(SequenceModelOptions options)
    {
        var candidates = new (string Name, Action<SequenceModelOptions> Shrink)[]
        {
            (nameof(SequenceModelOptions.HiddenSize), o => o.HiddenSize = 1),
            (nameof(SequenceModelOptions.NumberOfLayers), o => o.NumberOfLayers = 1),
            (nameof(SequenceModelOptions.InputSize), o => o.InputSize = 1),
            (nameof(SequenceModelOptions.OutputSize), o => o.OutputSize = 1),
        };
        return candidates.MinBy(c =>
        {
            var shrunk = options.Clone();
            c.Shrink(shrunk);
            return ParameterCount(shrunk);
        }).Name;
    }

    private static object OptionValue(SequenceModelOptions o, string name) => name switch
    {
        nameof(SequenceModelOptions.HiddenSize) => o.HiddenSize,
        nameof(SequenceModelOptions.NumberOfLayers) => o.NumberOfLayers,
        nameof(SequenceModelOptions.InputSize) => o.InputSize,
        _ => o.OutputSize,
    };

    private static long Multiply(long a, long b) => a > long.MaxValue / b ? long.MaxValue : a * b;

    private static long Add(long a, long b) => a > long.MaxValue - b ? long.MaxValue : a + b;
}
