using ClipTrainer.Data;
using ClipTrainer.Modeling;
using Microsoft.ML;
using Microsoft.ML.Data;
using Xunit;
using static ClipTrainer.Tests.SequenceTestData;

namespace ClipTrainer.Tests;

/// <summary>
/// The fitted transformer: block scoring in Transform against row scoring in PredictionEngine, padding invariance of
/// variable-length sequences, pass-through columns, schema checks, and what it exposes.
/// </summary>
[Collection(TorchSharpTrainingCollection.Name)]
public class SequenceTransformerTests
{
    // Block (Transform, 256 rows per forward) and row (PredictionEngine) scoring run different batch sizes through
    // libtorch, whose kernels may round differently: equal within float rounding, not necessarily bit for bit.
    private const float ScoringTolerance = 1e-5f;

    [Fact]
    public void Transform_MulticlassRowsAcrossScoringBlocks_EqualsPredictionEngine()
    {
        var mlContext = new MLContext(seed: 1);
        var rows = Multiclass(300, seed: 2); // 300 rows: a full block of 256 and a partial one
        var model = mlContext.Transforms.Conversion.MapValueToKey("Label")
            .Append(mlContext.MulticlassClassification.Trainers.ClipTrainer(SmallOptions(maximumNumberOfEpochs: 3)))
            .Append(mlContext.Transforms.Conversion.MapKeyToValue("PredictedLabel"))
            .Fit(Load(mlContext, Multiclass(200, seed: 1)));

        var scored = model.Transform(Load(mlContext, rows));
        var scores = VectorColumn(scored, "Score");
        var labels = Column<ReadOnlyMemory<char>>(scored, "PredictedLabel").Select(l => l.ToString()).ToList();
        var engine = mlContext.Model.CreatePredictionEngine<MulticlassRow, MulticlassPrediction>(model);

        Assert.Equal(300, scores.Count);
        for (int i = 0; i < rows.Count; i++)
        {
            var prediction = engine.Predict(rows[i]);
            Assert.Equal(scores[i], prediction.Score, new FloatTolerance(ScoringTolerance));
            Assert.Equal(labels[i], prediction.PredictedLabel);
        }
    }

    [Fact]
    public void Transform_BinaryRows_EqualsPredictionEngine()
    {
        var mlContext = new MLContext(seed: 1);
        var rows = Binary(270, seed: 2);
        var model = mlContext.BinaryClassification.Trainers.ClipTrainer(SmallOptions(maximumNumberOfEpochs: 3)).Fit(Load(mlContext, Binary(200, seed: 1)));

        var scored = model.Transform(Load(mlContext, rows));
        var score = Column<float>(scored, "Score");
        var probability = Column<float>(scored, "Probability");
        var engine = mlContext.Model.CreatePredictionEngine<BinaryRow, BinaryPrediction>(model);

        for (int i = 0; i < rows.Count; i++)
        {
            var prediction = engine.Predict(rows[i]);
            Assert.Equal(score[i], prediction.Score, ScoringTolerance);
            Assert.Equal(probability[i], prediction.Probability, ScoringTolerance);
        }
    }

    [Fact]
    public void Transform_TwoCursorsOverTheSameView_ReadTheSameScores()
    {
        var mlContext = new MLContext(seed: 1);
        var model = mlContext.Regression.Trainers.ClipTrainer(SmallOptions(maximumNumberOfEpochs: 3)).Fit(Load(mlContext, Regression(100, seed: 1)));
        var scored = model.Transform(Load(mlContext, Regression(300, seed: 2)));

        var first = Column<float>(scored, "Score");
        var second = Column<float>(scored, "Score");

        Assert.Equal(first, second);
        Assert.Equal(300, scored.GetRowCount());
    }

    public static TheoryData<RecurrentCellType, SequencePooling, bool> PaddingCases() => new()
    {
        { RecurrentCellType.Rnn, SequencePooling.LastStep, false },
        { RecurrentCellType.Lstm, SequencePooling.LastStep, true },
        { RecurrentCellType.Gru, SequencePooling.Mean, false },
        { RecurrentCellType.Lstm, SequencePooling.Max, true },
        { RecurrentCellType.Gru, SequencePooling.Mean, true },
    };

    [Theory]
    [MemberData(nameof(PaddingCases))]
    public void Transform_VariableLengthRowAmongLongerRows_ScoresAsWhenAlone(RecurrentCellType cell, SequencePooling pooling, bool bidirectional)
    {
        var mlContext = new MLContext(seed: 1);
        var options = SmallOptions(maximumNumberOfEpochs: 3);
        options.SequenceLength = null;
        options.CellType = cell;
        options.Pooling = pooling;
        options.Bidirectional = bidirectional;
        options.MaximumNumberOfEpochs = 2;
        var model = mlContext.Regression.Trainers.ClipTrainer(options).Fit(Load(mlContext, VariableRegression(120, seed: 1)));
        var shortRow = VariableRegression(1, seed: 7, minimumSteps: 2, maximumSteps: 2)[0];
        var longRows = VariableRegression(299, seed: 8, minimumSteps: 8, maximumSteps: 8);
        var mixed = new List<VariableRegressionRow>(longRows);
        foreach (int position in new[] { 0, 100, 280 }) mixed.Insert(position, shortRow); // in the first and second block

        float alone = mlContext.Model.CreatePredictionEngine<VariableRegressionRow, RegressionPrediction>(model).Predict(shortRow).Score;
        float aloneInTransform = Column<float>(model.Transform(Load(mlContext, new[] { shortRow })), "Score")[0];
        var inBatch = Column<float>(model.Transform(Load(mlContext, mixed)), "Score");

        Assert.Equal(alone, aloneInTransform, ScoringTolerance);
        foreach (int position in new[] { 0, 100, 280 })
            Assert.Equal(alone, inBatch[position], ScoringTolerance);

        // The check can fail: the same row padded with zero steps, read as data, scores differently.
        var zeroPadded = new VariableRegressionRow { Features = [.. shortRow.Features, .. new float[6 * InputSize]] };
        float padded = mlContext.Model.CreatePredictionEngine<VariableRegressionRow, RegressionPrediction>(model).Predict(zeroPadded).Score;
        Assert.True(Math.Abs(padded - alone) > 1e-4, $"zero-padded {padded}, alone {alone}");
    }

    [Fact]
    public void Transform_EmptyInput_GivesNoRows()
    {
        var mlContext = new MLContext(seed: 1);
        var model = mlContext.Regression.Trainers.ClipTrainer(SmallOptions(maximumNumberOfEpochs: 3)).Fit(Load(mlContext, Regression(20, seed: 1)));

        var scored = model.Transform(mlContext.Data.LoadFromEnumerable(new List<RegressionRow>()));

        Assert.Empty(Column<float>(scored, "Score"));
    }

    [Fact]
    public void Transform_InputWithExtraColumnsInOtherOrder_PassesThemThroughAndScoresTheSame()
    {
        var mlContext = new MLContext(seed: 1);
        var rows = Regression(40, seed: 2);
        var model = mlContext.Regression.Trainers.ClipTrainer(SmallOptions(maximumNumberOfEpochs: 3)).Fit(Load(mlContext, Regression(100, seed: 1)));
        var expected = Column<float>(model.Transform(Load(mlContext, rows)), "Score");
        var tagged = rows.Select((r, i) => new TaggedRow { Id = $"row{i}", Weight = i, Features = r.Features }).ToList();

        var scored = model.Transform(mlContext.Data.LoadFromEnumerable(tagged));

        Assert.Equal(expected, Column<float>(scored, "Score"));
        Assert.Equal(tagged.Select(t => t.Id), Column<ReadOnlyMemory<char>>(scored, "Id").Select(v => v.ToString()));
        Assert.Equal(tagged.Select(t => t.Weight), Column<float>(scored, "Weight"));
        Assert.Equal(["Id", "Weight", "Features", "Score"], scored.Schema.Select(c => c.Name));
    }

    [Fact]
    public void Transform_ShuffledInput_EveryRowKeepsItsOwnScore()
    {
        // Transform reads features ahead with a second cursor; on a shuffled view both cursors must see one order.
        var mlContext = new MLContext(seed: 1);
        var rows = Regression(600, seed: 2);
        var model = mlContext.Regression.Trainers.ClipTrainer(SmallOptions(maximumNumberOfEpochs: 3)).Fit(Load(mlContext, Regression(100, seed: 1)));
        var expected = Column<float>(model.Transform(Load(mlContext, rows)), "Score");
        var tagged = mlContext.Data.LoadFromEnumerable(rows.Select((r, i) => new TaggedRow { Id = $"{i}", Weight = i, Features = r.Features }).ToList());

        var scored = model.Transform(mlContext.Data.ShuffleRows(tagged, seed: 3));

        var ids = new List<int>();
        var scores = new List<float>();
        using (var cursor = scored.GetRowCursor(scored.Schema)) // one cursor: ids and scores of the same rows
        {
            var weight = cursor.GetGetter<float>(scored.Schema["Weight"]);
            var score = cursor.GetGetter<float>(scored.Schema["Score"]);
            float w = 0, s = 0;
            while (cursor.MoveNext())
            {
                weight(ref w);
                score(ref s);
                ids.Add((int)w);
                scores.Add(s);
            }
        }
        Assert.NotEqual(Enumerable.Range(0, 600), ids);
        Assert.Equal(Enumerable.Range(0, 600), ids.Order());
        for (int i = 0; i < ids.Count; i++)
            Assert.Equal(expected[ids[i]], scores[i], ScoringTolerance);
    }

    [Fact]
    public void Transform_InputAlreadyHasAScoreColumn_NewScoreHidesIt()
    {
        var mlContext = new MLContext(seed: 1);
        var rows = Regression(20, seed: 2);
        var model = mlContext.Regression.Trainers.ClipTrainer(SmallOptions(maximumNumberOfEpochs: 3)).Fit(Load(mlContext, Regression(100, seed: 1)));
        var expected = Column<float>(model.Transform(Load(mlContext, rows)), "Score");
        var withScore = rows.Select(r => new PreScoredRow { Features = r.Features, Score = -1000 }).ToList();

        var scored = model.Transform(mlContext.Data.LoadFromEnumerable(withScore));

        Assert.Equal(expected, Column<float>(scored, "Score"));
        Assert.True(scored.Schema[1].IsHidden);
        Assert.Equal("Score", scored.Schema[1].Name);
    }

    [Fact]
    public void PredictionEngine_PermutationFeatureImportance_RanksTheFeatureTheTargetReadsFirst()
    {
        // The target is the mean of feature 0 over time: permuting a feature-0 slot must hurt R² more than any other slot.
        var mlContext = new MLContext(seed: 1);
        var options = SmallOptions(maximumNumberOfEpochs: 3);
        options.MaximumNumberOfEpochs = 6;
        var model = mlContext.Regression.Trainers.ClipTrainer(options).Fit(Load(mlContext, Regression(300, seed: 1)));

        var importance = mlContext.Regression.PermutationFeatureImportance(model, Load(mlContext, Regression(200, seed: 2)), permutationCount: 1);

        Assert.Equal(VectorSize, importance.Length);
        var drops = importance.Select(m => -m.RSquared.Mean).ToArray();
        double weakestFeatureZeroSlot = Enumerable.Range(0, VectorSize).Where(i => i % InputSize == 0).Min(i => drops[i]);
        double strongestOtherSlot = Enumerable.Range(0, VectorSize).Where(i => i % InputSize != 0).Max(i => drops[i]);
        Assert.True(weakestFeatureZeroSlot > strongestOtherSlot, $"feature-0 slots ≥ {weakestFeatureZeroSlot}, others ≤ {strongestOtherSlot}");
    }

    [Fact]
    public void GetOutputSchema_FeatureColumnMissing_ThrowsNamingTheColumn()
    {
        var mlContext = new MLContext(seed: 1);
        var model = mlContext.Regression.Trainers.ClipTrainer(SmallOptions(maximumNumberOfEpochs: 3)).Fit(Load(mlContext, Regression(20, seed: 1)));
        var other = mlContext.Data.LoadFromEnumerable(new[] { new NoFeaturesRow() });

        var fromSchema = Assert.Throws<ArgumentOutOfRangeException>(() => model.GetOutputSchema(other.Schema));
        var fromTransform = Assert.Throws<ArgumentOutOfRangeException>(() => model.Transform(other));
        var fromMapper = Assert.Throws<ArgumentOutOfRangeException>(() => model.GetRowToRowMapper(other.Schema));

        Assert.All(new[] { fromSchema, fromTransform, fromMapper }, e => Assert.Equal("Features", e.ParamName));
        Assert.Contains("Column 'Features' not found", fromTransform.Message);
    }

    [Fact]
    public void Transform_FeatureVectorOfAnotherSize_ThrowsNamingTheColumn()
    {
        var mlContext = new MLContext(seed: 1);
        var model = mlContext.Regression.Trainers.ClipTrainer(SmallOptions(maximumNumberOfEpochs: 3)).Fit(Load(mlContext, Regression(20, seed: 1)));
        var shorter = mlContext.Data.LoadFromEnumerable(new[] { new ShortRow { Features = new float[15] } });

        var exception = Assert.Throws<ArgumentOutOfRangeException>(() => model.Transform(shorter));

        Assert.Equal("Features", exception.ParamName);
        Assert.Contains("of length 18", exception.Message);
    }

    [Theory]
    [InlineData(SequenceTask.MulticlassClassification, new[] { "PredictedLabel", "Score" })]
    [InlineData(SequenceTask.BinaryClassification, new[] { "PredictedLabel", "Score", "Probability" })]
    [InlineData(SequenceTask.Regression, new[] { "Score" })]
    public void Properties_FittedTransformer_DescribeTaskColumnsAndModel(SequenceTask task, string[] outputColumns)
    {
        var mlContext = new MLContext(seed: 1);
        var options = SmallOptions(maximumNumberOfEpochs: 3);
        options.MaximumNumberOfEpochs = 1;
        SequenceTransformer model = task switch
        {
            SequenceTask.MulticlassClassification => mlContext.MulticlassClassification.Trainers.ClipTrainer(options)
                .Fit(mlContext.Transforms.Conversion.MapValueToKey("Label").Fit(Load(mlContext, Multiclass(30, 1))).Transform(Load(mlContext, Multiclass(30, 1)))),
            SequenceTask.BinaryClassification => mlContext.BinaryClassification.Trainers.ClipTrainer(options).Fit(Load(mlContext, Binary(30, 1))),
            _ => mlContext.Regression.Trainers.ClipTrainer(options).Fit(Load(mlContext, Regression(30, 1))),
        };

        Assert.Equal(task, model.Task);
        Assert.Equal(outputColumns, model.OutputColumnNames);
        Assert.Equal("Features", model.FeatureColumnName);
        Assert.Equal(new VectorDataViewType(NumberDataViewType.Single, VectorSize), model.FeatureColumnType);
        Assert.True(model.IsRowToRowMapper);
        Assert.Equal(SequenceLength, model.Model.SequenceLength);
        Assert.Equal(InputSize, model.Model.InputSize);
        Assert.Equal(task == SequenceTask.MulticlassClassification ? 3 : 1, model.Model.OutputSize);
    }

    public sealed class TaggedRow
    {
        public string Id { get; set; } = "";

        public float Weight { get; set; }

        [VectorType(VectorSize)]
        public float[] Features { get; set; } = [];
    }

    public sealed class PreScoredRow
    {
        [VectorType(VectorSize)]
        public float[] Features { get; set; } = [];

        public float Score { get; set; }
    }
}
