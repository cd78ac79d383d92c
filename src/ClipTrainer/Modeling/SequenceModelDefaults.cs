namespace ClipTrainer.Modeling;

/// <summary>
/// The one place the defaults of <see cref="SequenceModelOptions"/> live; anything that offers the same knobs uses
/// these constants instead of repeating a literal.
/// </summary>
internal static class SequenceModelDefaults
{
    public const RecurrentCellType CellType = RecurrentCellType.Lstm;
    public const int HiddenSize = 32;
    public const int NumberOfLayers = 1;
    public const bool Bidirectional = false;
    public const double Dropout = 0.0;
    public const SequencePooling Pooling = SequencePooling.LastStep;
}
