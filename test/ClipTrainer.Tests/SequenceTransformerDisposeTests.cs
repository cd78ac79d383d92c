using Microsoft.ML;
using Xunit;
using static ClipTrainer.Tests.SequenceTestData;

namespace ClipTrainer.Tests;

/// <summary>A disposed transformer says so in its own name, on every path that would touch its released network.</summary>
[Collection(TorchSharpTrainingCollection.Name)]
public class SequenceTransformerDisposeTests
{
    private static (MLContext Context, SequenceTransformer Model, IDataView Data) Fitted()
    {
        var mlContext = new MLContext(seed: 1);
        var data = Load(mlContext, Regression(20, seed: 1));
        return (mlContext, mlContext.Regression.Trainers.ClipTrainer(SmallOptions(maximumNumberOfEpochs: 1)).Fit(data), data);
    }

    [Fact]
    public void Transform_AfterDispose_ThrowsObjectDisposedNamingTheTransformer()
    {
        var (_, model, data) = Fitted();
        model.Dispose();

        var exception = Assert.Throws<ObjectDisposedException>(() => model.Transform(data));

        Assert.Contains(nameof(SequenceTransformer), exception.ObjectName);
    }

    [Fact]
    public void ScoredView_MadeBeforeDispose_ThrowsObjectDisposedNamingTheTransformerWhenRead()
    {
        var (_, model, data) = Fitted();
        var scored = model.Transform(data);
        model.Dispose();

        var exception = Assert.Throws<ObjectDisposedException>(() => Column<float>(scored, "Score"));

        Assert.Contains(nameof(SequenceTransformer), exception.ObjectName);
    }

    [Fact]
    public void PredictionEngine_AfterDispose_ThrowsObjectDisposedNamingTheTransformer()
    {
        var (mlContext, model, _) = Fitted();
        model.Dispose();

        var exception = Assert.Throws<ObjectDisposedException>(() => mlContext.Model.CreatePredictionEngine<RegressionRow, RegressionPrediction>(model));

        Assert.Contains(nameof(SequenceTransformer), exception.ObjectName);
    }
}
