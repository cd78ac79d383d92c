using System.Globalization;

namespace ClipTrainer.Modeling;

/// <summary>
/// The shape of a <see cref="SequenceModel"/>: recurrent cell, sizes, depth, direction, dropout, pooling and head.
/// </summary>
/// <remarks>
/// <see cref="InputSize"/> and <see cref="OutputSize"/> describe the data and have no meaningful default; every other
/// property has one. Call <see cref="Validate"/> (the <see cref="SequenceModel"/> constructor does) before building a
/// model.
/// </remarks>
public sealed class SequenceModelOptions
{
    /// <summary>
    /// Gets or sets the recurrent cell.
    /// </summary>
    /// <value>Range: a defined <see cref="RecurrentCellType"/>. Default: <see cref="RecurrentCellType.Lstm"/>.</value>
    public RecurrentCellType CellType { get; set; } = SequenceModelDefaults.CellType;

    /// <summary>
    /// Gets or sets the number of features at each time step.
    /// </summary>
    /// <value>Range: &gt; 0. Default: 0 (unset; must be set).</value>
    public int InputSize { get; set; }

    /// <summary>
    /// Gets or sets the number of features of each recurrent layer's hidden state (per direction).
    /// </summary>
    /// <value>Range: &gt; 0. Default: 32.</value>
    public int HiddenSize { get; set; } = SequenceModelDefaults.HiddenSize;

    /// <summary>
    /// Gets or sets the number of stacked recurrent layers.
    /// </summary>
    /// <value>Range: [1, 1000]. Default: 1.</value>
    public int NumberOfLayers { get; set; } = SequenceModelDefaults.NumberOfLayers;

    /// <summary>
    /// Gets or sets whether every recurrent layer also reads the sequence backwards; the two directions' outputs are
    /// concatenated, so the pooled vector has <c>2 × HiddenSize</c> features.
    /// </summary>
    /// <value>Default: <see langword="false"/>.</value>
    public bool Bidirectional { get; set; } = SequenceModelDefaults.Bidirectional;

    /// <summary>
    /// Gets or sets the dropout probability applied to the outputs of every recurrent layer except the last, and to the
    /// pooled vector before the linear head. Active only in training mode.
    /// </summary>
    /// <value>Range: [0, 1). Default: 0.0 (no dropout).</value>
    public double Dropout { get; set; } = SequenceModelDefaults.Dropout;

    /// <summary>
    /// Gets or sets how the recurrent outputs of a sequence are reduced to one vector.
    /// </summary>
    /// <value>Range: a defined <see cref="SequencePooling"/>. Default: <see cref="SequencePooling.LastStep"/>.</value>
    public SequencePooling Pooling { get; set; } = SequenceModelDefaults.Pooling;

    /// <summary>
    /// Gets or sets T_max of the chrono initialisation of an LSTM's gates (Tallec &amp; Ollivier 2018, "Can recurrent
    /// neural networks warp time?"), or null for PyTorch's uniform initialisation. With T_max set, every layer's
    /// forget-gate bias is drawn as log(u), u ~ U[1, T_max − 1], and its input-gate bias is the negative of that (the
    /// hidden-to-hidden biases of both gates are zero), so the cell starts out keeping its memory over 1 to T_max steps
    /// instead of about one. Use the length of the longest dependency the data holds, e.g. the sequence length.
    /// </summary>
    /// <value>
    /// Null, or an integer ≥ 3; only for <see cref="RecurrentCellType.Lstm"/>. Default: null. Measured on the adding
    /// problem at T = 200 (README): the default and a forget bias of 1 stayed at the 0.167 baseline, chrono solved it.
    /// </value>
    public int? ChronoInitializationLength { get; set; }

    /// <summary>
    /// Gets or sets the number of outputs of the linear head (the number of classes, or 1 for binary classification
    /// and regression).
    /// </summary>
    /// <value>Range: &gt; 0. Default: 0 (unset; must be set).</value>
    public int OutputSize { get; set; }

    /// <summary>
    /// Gets the number of features of the pooled vector the head reads: <c>HiddenSize × (Bidirectional ? 2 : 1)</c>.
    /// </summary>
    public int PooledSize => HiddenSize * (Bidirectional ? 2 : 1);

    /// <summary>
    /// Checks every property and throws on the first one out of range.
    /// </summary>
    /// <exception cref="ArgumentOutOfRangeException">
    /// A property is out of its documented range (NaN included); <see cref="ArgumentException.ParamName"/> is the
    /// property's name and the message states the valid range and the actual value.
    /// </exception>
    public void Validate()
    {
        if (!Enum.IsDefined(CellType))
        {
            throw OutOfRange(nameof(CellType), CellType, "must be one of Rnn, Lstm, Gru");
        }

        RequirePositive(nameof(InputSize), InputSize);
        RequirePositive(nameof(HiddenSize), HiddenSize);
        RequirePositive(nameof(NumberOfLayers), NumberOfLayers);
        if (NumberOfLayers > SequenceModelSize.MaximumNumberOfLayers)
        {
            throw OutOfRange(nameof(NumberOfLayers), NumberOfLayers,
                $"must be at most {SequenceModelSize.MaximumNumberOfLayers} (recurrent stacks train with 1 to 8; each layer runs after the previous one at every step)");
        }

        if (!(Dropout >= 0.0 && Dropout < 1.0))
        {
            throw OutOfRange(nameof(Dropout), Dropout, "must be in [0, 1)");
        }

        if (!Enum.IsDefined(Pooling))
        {
            throw OutOfRange(nameof(Pooling), Pooling, "must be one of LastStep, Mean, Max");
        }

        if (ChronoInitializationLength is { } length)
        {
            if (length < 3) throw OutOfRange(nameof(ChronoInitializationLength), length, "must be null (off) or at least 3 (forget biases are drawn from log U[1, T_max - 1])");
            if (CellType != RecurrentCellType.Lstm)
                throw OutOfRange(nameof(ChronoInitializationLength), length, $"applies to LSTM gates only, but CellType is {CellType}: set CellType = Lstm or leave it null");
        }

        RequirePositive(nameof(OutputSize), OutputSize);
    }

    /// <summary>
    /// Returns a copy of these options that later changes to this instance do not affect.
    /// </summary>
    /// <returns>A new <see cref="SequenceModelOptions"/> with the same property values.</returns>
    public SequenceModelOptions Clone() => (SequenceModelOptions)MemberwiseClone();

    private static void RequirePositive(string name, int value)
    {
        if (!(value > 0))
        {
            throw OutOfRange(name, value, "must be greater than 0");
        }
    }

    private static ArgumentOutOfRangeException OutOfRange(string name, object value, string rule) =>
        new(name, value, string.Create(CultureInfo.InvariantCulture, $"{name} {rule}; got {value}."));
}
