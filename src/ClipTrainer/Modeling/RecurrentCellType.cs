namespace ClipTrainer.Modeling;

/// <summary>
/// The recurrent cell a <see cref="SequenceModel"/> stacks.
/// </summary>
public enum RecurrentCellType
{
    /// <summary>
    /// The Elman recurrent cell with a tanh non-linearity: h_t = tanh(W_ih x_t + b_ih + W_hh h_(t−1) + b_hh).
    /// </summary>
    Rnn,

    /// <summary>
    /// The long short-term memory cell (input, forget, cell and output gates, with a separate cell state).
    /// </summary>
    Lstm,

    /// <summary>
    /// The gated recurrent unit (reset and update gates).
    /// </summary>
    Gru,
}
