using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;
using PackedSequence = TorchSharp.torch.nn.utils.rnn.PackedSequence;
using RnnUtilities = TorchSharp.torch.nn.utils.rnn;

namespace ClipTrainer.Modeling;

/// <summary>
/// A recurrent sequence model: a stack of RNN (tanh), LSTM or GRU layers, a pooling of the outputs into one vector,
/// dropout, and a linear head.
/// </summary>
/// <remarks>
/// <para>
/// Input: <c>input</c> float32 <c>[batch, time, InputSize]</c> (batch first) and optional <c>lengths</c> int64
/// <c>[batch]</c> holding each row's number of valid steps (1 ≤ length ≤ time; <see langword="null"/> means every row
/// uses all steps). Output: <c>[batch, OutputSize]</c> raw scores (logits for classification).
/// </para>
/// <para>
/// Padding invariance: with <c>lengths</c>, the batch is packed (<c>pack_padded_sequence</c>, unsorted) so the recurrent
/// layers never read a step past a row's length, in either direction; the outputs are unpacked with zeros after each
/// row's length, and pooling reads only valid steps (see <see cref="SequencePooling"/>). A row's output is therefore the
/// same, up to floating-point rounding, whether it is scored alone or zero-padded inside a longer batch.
/// </para>
/// <para>
/// Parameter names (for <c>state_dict</c>): <c>recurrent.*</c> (the TorchSharp RNN/LSTM/GRU module), <c>head.weight</c>,
/// <c>head.bias</c>.
/// </para>
/// </remarks>
public sealed class SequenceModel : nn.Module<Tensor, Tensor?, Tensor>
{
    private readonly nn.Module recurrent;
    private readonly Dropout dropout;
    private readonly Linear head;
    private readonly SequenceModelOptions options;

    /// <summary>
    /// Creates a model with TorchSharp's default initialization, drawn from the global random generator
    /// (seed it with <c>torch.manual_seed</c>, or use <see cref="Create(SequenceModelOptions, long)"/>).
    /// </summary>
    /// <param name="options">The model's shape; validated and copied, so later changes do not affect the model.</param>
    /// <exception cref="ArgumentNullException"><paramref name="options"/> is <see langword="null"/>.</exception>
    /// <exception cref="ArgumentOutOfRangeException">
    /// An option is out of range (see <see cref="SequenceModelOptions.Validate"/>), or the parameters, estimated from the
    /// options before anything is allocated, would not fit in the available memory (the message names the sizes).
    /// </exception>
    /// <exception cref="InsufficientMemoryException">libtorch failed to allocate the parameters; the message names the model's sizes.</exception>
    public SequenceModel(SequenceModelOptions options)
        : base(nameof(SequenceModel))
    {
        ArgumentNullException.ThrowIfNull(options);
        options.Validate();
        SequenceModelSize.CheckFits(options, copies: 1, activationBytes: 0, "building it");
        this.options = options.Clone();

        // nn.RNN applies its dropout between layers only; with one layer it would be a no-op that libtorch warns about.
        var betweenLayers = options.NumberOfLayers > 1 ? options.Dropout : 0.0;
        // The modules draw their default weights from the global generator, which a training run's dropout also uses.
        lock (GlobalGeneratorGate.Gate)
        {
            try
            {
                recurrent = CreateRecurrent(options, betweenLayers);
                dropout = nn.Dropout(options.Dropout);
                head = nn.Linear(options.PooledSize, options.OutputSize);
            }
            catch (System.Runtime.InteropServices.ExternalException e)
            {
                // libtorch's own message is a C++ trace; say what was being built and how large it was estimated.
                throw new InsufficientMemoryException(string.Create(System.Globalization.CultureInfo.InvariantCulture,
                    $"libtorch could not build the {options.CellType} model (HiddenSize {options.HiddenSize}, NumberOfLayers {options.NumberOfLayers}, " +
                    $"about {SequenceModelSize.Format(SequenceModelSize.ParameterCount(options) * sizeof(float))} of parameters): " +
                    $"{e.Message.Split('\n')[0]} Lower HiddenSize or NumberOfLayers."), e);
            }
        }
        RegisterComponents();
    }

    private static nn.Module CreateRecurrent(SequenceModelOptions options, double betweenLayers) =>
        options.CellType switch
        {
            RecurrentCellType.Rnn => nn.RNN(options.InputSize, options.HiddenSize, options.NumberOfLayers,
                nn.NonLinearities.Tanh, bias: true, batchFirst: true, dropout: betweenLayers,
                bidirectional: options.Bidirectional),
            RecurrentCellType.Lstm => nn.LSTM(options.InputSize, options.HiddenSize, options.NumberOfLayers,
                bias: true, batchFirst: true, dropout: betweenLayers, bidirectional: options.Bidirectional),
            _ => nn.GRU(options.InputSize, options.HiddenSize, options.NumberOfLayers,
                bias: true, batchFirst: true, dropout: betweenLayers, bidirectional: options.Bidirectional),
        };

    /// <summary>
    /// Gets a copy of the options the model was built from.
    /// </summary>
    public SequenceModelOptions Options => options.Clone();

    /// <summary>
    /// Creates a model whose initial parameters depend only on <paramref name="options"/> and <paramref name="seed"/>.
    /// </summary>
    /// <param name="options">The model's shape; validated and copied.</param>
    /// <param name="seed">The seed of the private generator the parameters are drawn from.</param>
    /// <returns>A new model on the CPU, in training mode.</returns>
    /// <remarks>See <see cref="ResetParameters(long)"/> for the distribution. The global random generator is not
    /// reseeded, so dropout masks during training still follow <c>torch.manual_seed</c>.</remarks>
    /// <exception cref="ArgumentNullException"><paramref name="options"/> is <see langword="null"/>.</exception>
    /// <exception cref="ArgumentOutOfRangeException">An option is out of range (see <see cref="SequenceModelOptions.Validate"/>).</exception>
    public static SequenceModel Create(SequenceModelOptions options, long seed)
    {
        var model = new SequenceModel(options);
        model.ResetParameters(seed);
        return model;
    }

    /// <summary>
    /// Redraws every parameter from a private generator seeded with <paramref name="seed"/>, in PyTorch's default
    /// distributions, so the same seed always gives the same weights.
    /// </summary>
    /// <param name="seed">The seed of the private generator.</param>
    /// <remarks>
    /// Recurrent weights and biases ~ U(−1/√HiddenSize, 1/√HiddenSize); head weight and bias ~ U(−1/√PooledSize,
    /// 1/√PooledSize) — the same distributions as PyTorch's <c>reset_parameters</c>. Values are drawn on the CPU in
    /// <c>named_parameters</c> order and copied to each parameter's device, so the result does not depend on the device.
    /// </remarks>
    public void ResetParameters(long seed)
    {
        using var scope = NewDisposeScope();
        using var noGrad = no_grad();
        using var generator = new Generator(unchecked((ulong)seed));
        FillUniform(recurrent.parameters(), 1.0 / Math.Sqrt(options.HiddenSize), generator);
        FillUniform(head.parameters(), 1.0 / Math.Sqrt(options.PooledSize), generator);
        if (options.ChronoInitializationLength is { } length) ChronoGateBiases(length, generator);
    }

    /// <summary>
    /// The chrono initialisation (see <see cref="SequenceModelOptions.ChronoInitializationLength"/>) of every layer and
    /// direction: PyTorch's LSTM gate order in a bias is input, forget, cell, output, so rows [0, h) are the input gate
    /// and [h, 2h) the forget gate; only the input-to-hidden bias carries them, the hidden-to-hidden one is zeroed there.
    /// </summary>
    private void ChronoGateBiases(int length, Generator generator)
    {
        long h = options.HiddenSize;
        foreach (var (name, bias) in recurrent.named_parameters().Where(p => p.name.Contains("bias_", StringComparison.Ordinal)))
        {
            if (name.Contains("bias_hh", StringComparison.Ordinal))
            {
                bias.narrow(0, 0, 2 * h).zero_();
                continue;
            }

            var forget = empty(h, bias.dtype, CPU).uniform_(1, length - 1, generator).log_();
            bias.narrow(0, h, h).copy_(forget);
            bias.narrow(0, 0, h).copy_(forget.neg());
        }
    }

    /// <summary>
    /// Runs the model on a batch of sequences.
    /// </summary>
    /// <param name="input">Float32 <c>[batch, time, InputSize]</c>, batch first, on the model's device.</param>
    /// <param name="lengths">Integer <c>[batch]</c> valid steps per row (1 ≤ length ≤ time), on any device; or
    /// <see langword="null"/> when every row uses all <c>time</c> steps.</param>
    /// <returns><c>[batch, OutputSize]</c> scores, owned by the caller (moved out of the forward's dispose scope).</returns>
    /// <exception cref="ArgumentException">The shape of <paramref name="input"/> or <paramref name="lengths"/> does not
    /// fit, or a length is outside [1, time].</exception>
    public override Tensor forward(Tensor input, Tensor? lengths)
    {
        ArgumentNullException.ThrowIfNull(input);
        CheckInput(input);
        using var scope = NewDisposeScope();
        var time = input.size(1);

        Tensor outputs;
        Tensor? validLengths = null;
        var (cpuLengths, shortest) = lengths is null ? (null, time) : CheckLengths(lengths, input.size(0), time);
        if (cpuLengths is null || shortest == time)
        {
            // Every row is full length: packing would change nothing but cost a sort and two gathers.
            outputs = RunRecurrent(input);
        }
        else
        {
            using var packed = RnnUtilities.pack_padded_sequence(input, cpuLengths, batch_first: true, enforce_sorted: false);
            using var packedOutputs = RunRecurrent(packed);
            (outputs, _) = RnnUtilities.pad_packed_sequence(packedOutputs, batch_first: true, padding_value: 0.0, total_length: time);
            validLengths = cpuLengths.to(outputs.device);
        }

        var pooled = SequencePoolingFunctions.Pool(outputs, validLengths, options.Pooling, options.HiddenSize, options.Bidirectional);
        // Dropout at p = 0 returns its input: skipping the call saves a native call and a tensor handle per batch.
        return head.forward(options.Dropout > 0 ? dropout.forward(pooled) : pooled).MoveToOuterDisposeScope();
    }

    private void CheckInput(Tensor input)
    {
        if (input.dim() != 3 || input.size(2) != options.InputSize) // size(d): one native call; shape allocates an array per call
        {
            throw new ArgumentException(
                $"Expected input of shape [batch, time, {options.InputSize}], got [{string.Join(", ", input.shape)}].",
                nameof(input));
        }

        if (input.size(1) < 1)
        {
            throw new ArgumentException("Expected at least one time step, got an input with time dimension 0.", nameof(input));
        }
    }

    private static (Tensor CpuLengths, long Shortest) CheckLengths(Tensor lengths, long batch, long time)
    {
        if (lengths.dim() != 1 || lengths.size(0) != batch)
        {
            throw new ArgumentException(
                $"Expected lengths of shape [{batch}], got [{string.Join(", ", lengths.shape)}].", nameof(lengths));
        }

        if (lengths.is_floating_point() || lengths.is_complex() || lengths.dtype == ScalarType.Bool)
        {
            throw new ArgumentException($"Expected integer lengths, got {lengths.dtype}.", nameof(lengths));
        }

        // pack_padded_sequence requires int64 lengths on the CPU; reading min/max here is the one host sync it costs.
        var cpuLengths = lengths.to(ScalarType.Int64, CPU);
        var extremes = stack(new[] { cpuLengths.min(), cpuLengths.max() }).data<long>();
        var (shortest, longest) = (extremes[0], extremes[1]);
        if (shortest < 1 || longest > time)
        {
            throw new ArgumentException(
                $"Every length must be in [1, {time}] (the input's time dimension); got values in [{shortest}, {longest}].",
                nameof(lengths));
        }

        return (cpuLengths, shortest);
    }

    private Tensor RunRecurrent(Tensor input) => recurrent switch
    {
        RNN rnn => rnn.call(input).Item1,
        LSTM lstm => lstm.call(input).Item1,
        GRU gru => gru.call(input).Item1,
        _ => throw new InvalidOperationException($"Unexpected recurrent module {recurrent.GetType().Name}."),
    };

    private PackedSequence RunRecurrent(PackedSequence input) => recurrent switch
    {
        RNN rnn => rnn.call(input).Item1,
        LSTM lstm => lstm.call(input).Item1,
        GRU gru => gru.call(input).Item1,
        _ => throw new InvalidOperationException($"Unexpected recurrent module {recurrent.GetType().Name}."),
    };

    private static void FillUniform(IEnumerable<Parameter> parameters, double bound, Generator generator)
    {
        foreach (var parameter in parameters)
        {
            var values = empty(parameter.shape, parameter.dtype, CPU).uniform_(-bound, bound, generator);
            parameter.copy_(values);
        }
    }
}
