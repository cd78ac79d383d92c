using Microsoft.ML;
using Xunit;
using static ClipTrainer.Tests.SequenceTestData;

namespace ClipTrainer.Tests.Scoring;

/// <summary>
/// Scoring rows a variable-length model cannot read: a feature vector that is empty or not a multiple of InputSize
/// fails, through a cursor and through PredictionEngine, with a message naming the column, the row and the length.
/// </summary>
[Collection(TorchSharpTrainingCollection.Name)]
public sealed class SequenceScorerTests
{
    [Theory]
    [InlineData(4)]
    [InlineData(0)]
    public void Transform_RowNotAPositiveMultipleOfInputSize_ThrowsInvalidOperationNamingColumnRowAndLength(int badLength)
    {
        var mlContext = new MLContext(seed: 1);
        using var model = FitVariableLengthRegression(mlContext);
        var rows = VariableRegression(5, seed: 2);
        rows[2].Features = new float[badLength];

        var scored = model.Transform(Load(mlContext, rows));
        var exception = Assert.Throws<InvalidOperationException>(() => Column<float>(scored, "Score"));

        Assert.Contains("Row 2 ", exception.Message);
        Assert.Contains("feature column 'Features'", exception.Message);
        Assert.Contains($"holds {badLength} values", exception.Message);
        Assert.Contains($"InputSize {InputSize}", exception.Message);
    }

    [Theory]
    [InlineData(4)]
    [InlineData(0)]
    public void PredictionEngine_RowNotAPositiveMultipleOfInputSize_ThrowsInvalidOperationNamingColumnRowAndLength(int badLength)
    {
        var mlContext = new MLContext(seed: 1);
        using var model = FitVariableLengthRegression(mlContext);
        var engine = mlContext.Model.CreatePredictionEngine<VariableRegressionRow, RegressionPrediction>(model);
        var good = VariableRegression(1, seed: 2)[0];

        var exception = Assert.Throws<InvalidOperationException>(() => engine.Predict(new VariableRegressionRow { Features = new float[badLength] }));

        Assert.Matches(@"^Row \d+ ", exception.Message); // PredictionEngine's own row position
        Assert.Contains("feature column 'Features'", exception.Message);
        Assert.Contains($"holds {badLength} values", exception.Message);
        Assert.True(float.IsFinite(engine.Predict(good).Score), "the engine still scores a good row afterwards");
    }

    private static SequenceTransformer FitVariableLengthRegression(MLContext mlContext)
    {
        var options = SmallOptions(maximumNumberOfEpochs: 1);
        options.SequenceLength = null;
        return mlContext.Regression.Trainers.ClipTrainer(options).Fit(Load(mlContext, VariableRegression(40, seed: 1)));
    }
}
