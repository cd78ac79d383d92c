namespace ClipTrainer;

/// <summary>Defaults of the ClipTrainer catalog methods, in one place (both overloads use them).</summary>
public static class SequenceTrainerDefaults
{
    /// <summary>The default label column name.</summary>
    public const string LabelColumnName = "Label";

    /// <summary>The default feature column name.</summary>
    public const string FeatureColumnName = "Features";

    /// <summary>The default score column name (ML.NET's).</summary>
    public const string ScoreColumnName = "Score";

    /// <summary>The default predicted-label column name (ML.NET's).</summary>
    public const string PredictionColumnName = "PredictedLabel";
}
