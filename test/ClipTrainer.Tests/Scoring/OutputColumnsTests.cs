using ClipTrainer.Data;
using Microsoft.ML;
using Microsoft.ML.Data;
using Xunit;
using static ClipTrainer.Tests.SequenceTestData;

namespace ClipTrainer.Tests.Scoring;

/// <summary>
/// The names of the output columns: names that would collide are rejected when the catalog creates the trainer, and
/// distinct custom names each get their own column with its own values.
/// </summary>
[Collection(TorchSharpTrainingCollection.Name)]
public sealed class OutputColumnsTests
{
    [Theory]
    [InlineData(SequenceTask.MulticlassClassification)]
    [InlineData(SequenceTask.BinaryClassification)]
    public void ClipTrainer_ScoreColumnNameEqualsPredictionColumnName_ThrowsAtCatalogCall(SequenceTask task)
    {
        var mlContext = new MLContext(seed: 1);
        var options = SmallOptions();
        options.ScoreColumnName = "Output";
        options.PredictionColumnName = "Output";

        var exception = Assert.Throws<ArgumentOutOfRangeException>(() => Create(mlContext, task, options));

        Assert.Equal(nameof(SequenceTrainerOptions.ScoreColumnName), exception.ParamName);
        Assert.Contains("'Output' is used twice", exception.Message);
    }

    [Theory]
    [InlineData(nameof(SequenceTrainerOptions.ScoreColumnName))]
    [InlineData(nameof(SequenceTrainerOptions.PredictionColumnName))]
    public void BinaryClipTrainer_ColumnNamedProbability_ThrowsAtCatalogCallNamingTheOption(string option)
    {
        // The binary trainer always adds "Probability" (ML.NET's calibrated evaluator looks for that name).
        var mlContext = new MLContext(seed: 1);
        var options = SmallOptions();
        if (option == nameof(SequenceTrainerOptions.ScoreColumnName)) options.ScoreColumnName = "Probability";
        else options.PredictionColumnName = "Probability";

        var exception = Assert.Throws<ArgumentOutOfRangeException>(() => mlContext.BinaryClassification.Trainers.ClipTrainer(options));

        Assert.Equal(option, exception.ParamName);
        Assert.Contains("'Probability' is used twice", exception.Message);
    }

    [Fact]
    public void BinaryClipTrainer_DistinctCustomNames_ProbabilityIsSigmoidOfScoreAndPredictionItsSign()
    {
        var mlContext = new MLContext(seed: 1);
        var options = SmallOptions(maximumNumberOfEpochs: 2);
        options.ScoreColumnName = "Logit";
        options.PredictionColumnName = "IsPositive";
        var test = Binary(100, seed: 2);

        var model = mlContext.BinaryClassification.Trainers.ClipTrainer(options).Fit(Load(mlContext, Binary(100, seed: 1)));
        var scored = model.Transform(Load(mlContext, test));

        var logit = Column<float>(scored, "Logit");
        var probability = Column<float>(scored, "Probability");
        var decision = Column<bool>(scored, "IsPositive");
        Assert.Contains(logit, l => l > 0.1f);
        Assert.Contains(logit, l => l < -0.1f);
        for (int i = 0; i < logit.Count; i++)
        {
            Assert.Equal(1 / (1 + Math.Exp(-logit[i])), probability[i], 1e-6);
            Assert.Equal(logit[i] > 0, decision[i]);
        }
        var engine = mlContext.Model.CreatePredictionEngine<BinaryRow, RenamedBinaryPrediction>(model);
        for (int i = 0; i < 10; i++)
        {
            var prediction = engine.Predict(test[i]);
            Assert.Equal(logit[i], prediction.Logit, 1e-5f);
            Assert.Equal(probability[i], prediction.Probability, 1e-5f);
            Assert.Equal(decision[i], prediction.IsPositive);
        }
    }

    [Fact]
    public void MulticlassClipTrainer_DistinctCustomNames_PredictionIsTheArgMaxOfTheScores()
    {
        var mlContext = new MLContext(seed: 1);
        var options = SmallOptions();
        options.ScoreColumnName = "Probabilities";
        options.PredictionColumnName = "ClassKey";
        var data = mlContext.Transforms.Conversion.MapValueToKey("Label").Fit(Load(mlContext, Multiclass(100, seed: 1)))
            .Transform(Load(mlContext, Multiclass(100, seed: 1)));

        var scored = mlContext.MulticlassClassification.Trainers.ClipTrainer(options).Fit(data).Transform(data);

        var probabilities = VectorColumn(scored, "Probabilities");
        var keys = Column<uint>(scored, "ClassKey");
        Assert.Equal(new KeyDataViewType(typeof(uint), ClassNames.Length), scored.Schema["ClassKey"].Type);
        Assert.Equal([1u, 2u, 3u], keys.Distinct().Order());
        for (int i = 0; i < keys.Count; i++)
        {
            Assert.InRange(probabilities[i].Sum(), 1 - 1e-5, 1 + 1e-5);
            Assert.Equal((uint)Array.IndexOf(probabilities[i], probabilities[i].Max()) + 1, keys[i]);
        }
    }

    private static SequenceTrainer Create(MLContext mlContext, SequenceTask task, SequenceTrainerOptions options) => task switch
    {
        SequenceTask.MulticlassClassification => mlContext.MulticlassClassification.Trainers.ClipTrainer(options),
        SequenceTask.BinaryClassification => mlContext.BinaryClassification.Trainers.ClipTrainer(options),
        _ => mlContext.Regression.Trainers.ClipTrainer(options),
    };

    public sealed class RenamedBinaryPrediction
    {
        public float Logit { get; set; }

        public float Probability { get; set; }

        public bool IsPositive { get; set; }
    }
}
