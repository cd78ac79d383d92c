namespace ClipTrainer.Training;

/// <summary>
/// The libtorch thread count that training and scoring use when <see cref="TrainingSettings.NumberOfThreads"/> is not
/// set: one thread when a forward pass is too small to share (parameters × rows per pass below
/// <see cref="SingleThreadWorkLimit"/>) or the machine has one core; otherwise libtorch's own setting is left alone.
/// </summary>
/// <remarks>
/// Why parameters × rows: a recurrent step multiplies every weight once per row, so this is the work of one time step,
/// the unit libtorch splits between threads; below the limit the split and the threads' wake-ups cost more than they
/// save (measured with the <c>threads-benchmark</c> sample, see the README), and more so on a busy machine. The
/// sequence length only repeats steps of that size, so it does not enter.
/// </remarks>
internal static class ThreadCountRule
{
    /// <summary>
    /// Parameters × rows per forward pass below which one thread is the default: 2²⁶ ≈ 67M. On this project's 2-core
    /// machine under the load of other work, two threads were 3.4–11× slower than one for every LSTM measured, up to
    /// 35M (hidden 256, batch 128), against at most 1.5× faster on an idle machine (hidden 128, batch 32): one thread is
    /// the better bet below the largest size measured, libtorch's own choice above it.
    /// </summary>
    public const long SingleThreadWorkLimit = 1L << 26;

    /// <summary>The thread count to set, or null to leave libtorch's setting as it is.</summary>
    /// <param name="numberOfThreads">The user's choice (<see cref="TrainingSettings.NumberOfThreads"/>); wins when set.</param>
    /// <param name="parameterCount">The model's parameters (every tensor's elements).</param>
    /// <param name="rowsPerPass">The rows of one forward pass: the batch size in training, the block in scoring.</param>
    /// <param name="cores">The logical processors (<see cref="Environment.ProcessorCount"/>).</param>
    public static int? Choose(int? numberOfThreads, long parameterCount, int rowsPerPass, int cores)
    {
        if (numberOfThreads is not null) return numberOfThreads;
        return cores <= 1 || (double)parameterCount * rowsPerPass < SingleThreadWorkLimit ? 1 : null;
    }

    /// <summary>The parameter count of a module.</summary>
    public static long ParameterCount(TorchSharp.torch.nn.Module module) => module.parameters().Sum(p => p.numel());
}
