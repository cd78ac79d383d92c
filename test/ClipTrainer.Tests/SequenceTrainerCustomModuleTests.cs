using System.Text;
using System.Text.Json.Nodes;
using ClipTrainer.Modeling;
using ClipTrainer.Persistence;
using ClipTrainer.Tests.Modeling;
using ClipTrainer.Tests.Persistence;
using Microsoft.ML;
using TorchSharp.Modules;
using Xunit;
using static ClipTrainer.Tests.SequenceTestData;

namespace ClipTrainer.Tests;

/// <summary>A module of your own through the whole ML.NET path: training, clipping records, Evaluate, PredictionEngine, save/load.</summary>
[Collection(TorchSharpTrainingCollection.Name)]
public sealed class SequenceTrainerCustomModuleTests : ArchiveTestBase
{
    public SequenceTrainerCustomModuleTests() => ConvolutionTestModule.EnsureRegistered();

    private static SequenceTrainerOptions ConvolutionOptions(int channels = 6, int epochs = 8)
    {
        var options = SmallOptions(epochs);
        options.NumberOfThreads = 1;
        options.LearningRate = 0.05;
        options.ModuleFactoryName = ConvolutionTestModule.Name;
        options.ModuleOptions["Channels"] = channels.ToString(System.Globalization.CultureInfo.InvariantCulture);
        return options;
    }

    [Fact]
    public void Fit_CustomModule_TrainsEvaluatesAndScoresIdenticallyAfterSaveAndLoad()
    {
        var mlContext = new MLContext(seed: 1);
        var model = FitMulticlassPipeline(mlContext, ConvolutionOptions(channels: 6));
        var sequence = model.OfType<SequenceTransformer>().Single();
        var test = Load(mlContext, Multiclass(300, seed: 2));

        // The factory built the module from the request: 3 inputs → 6 channels (kernel 3), 6 → 3 classes.
        var network = Assert.IsType<ConvolutionTestModule>(sequence.Model.Network);
        var shapes = network.named_parameters().ToDictionary(p => p.name, p => p.parameter.shape);
        Assert.Equal([6L, 3, 3], shapes["convolution.weight"]);
        Assert.Equal([3L, 6], shapes["head.weight"]);
        Assert.Null(sequence.Model.Options);
        Assert.Equal(ConvolutionTestModule.Name, sequence.Model.ModuleFactoryName);
        Assert.Equal("6", sequence.Model.ModuleOptions["Channels"]);
        // Clipping and monitoring ran unchanged: a record per step (200 rows / 32 → 7 steps × 8 epochs), norms measured.
        Assert.Equal(7 * 8, sequence.History.Steps.Count);
        Assert.All(sequence.History.Steps, s => Assert.True(s.PreClipNorm > 0));
        // The class is the feature with the largest sum over time, which a mean over time sees: well above chance (1/3).
        var metrics = mlContext.MulticlassClassification.Evaluate(model.Transform(test));
        Assert.True(metrics.MicroAccuracy > 0.8, $"MicroAccuracy {metrics.MicroAccuracy}");

        string path = PathOf("custom.zip");
        SequencePipelineArchive.Save(mlContext, model, Load(mlContext, Multiclass(1, seed: 3)).Schema, path);
        var loadedContext = new MLContext(seed: 5);
        var loaded = SequencePipelineArchive.Load(loadedContext, path, out _);
        var loadedMetrics = loadedContext.MulticlassClassification.Evaluate(loaded.Transform(test));

        Assert.IsType<ConvolutionTestModule>(loaded.OfType<SequenceTransformer>().Single().Model.Network);
        Assert.Equal(metrics.MicroAccuracy, loadedMetrics.MicroAccuracy);
        Assert.Equal(metrics.LogLoss, loadedMetrics.LogLoss);
        var row = Multiclass(1, seed: 4)[0];
        var before = mlContext.Model.CreatePredictionEngine<MulticlassRow, MulticlassPrediction>(model).Predict(row);
        var after = loadedContext.Model.CreatePredictionEngine<MulticlassRow, MulticlassPrediction>(loaded).Predict(row);
        Assert.Equal(before.Score, after.Score);
        Assert.Equal(before.PredictedLabel, after.PredictedLabel);
    }

    [Fact]
    public void Fit_CustomModuleTwiceWithTheSameSeed_GivesTheSameScores()
    {
        var mlContext = new MLContext(seed: 1);
        var test = Load(mlContext, Multiclass(20, seed: 2));
        var first = VectorColumn(FitMulticlassPipeline(mlContext, ConvolutionOptions(epochs: 1)).Transform(test), "Score");
        var second = VectorColumn(FitMulticlassPipeline(mlContext, ConvolutionOptions(epochs: 1)).Transform(test), "Score");

        Assert.Equal(first, second);
    }

    [Fact]
    public void Load_ArchiveWhoseFactoryIsNotRegistered_ThrowsNamingTheFactoryAndTheRegistration()
    {
        var mlContext = new MLContext(seed: 1);
        var data = Load(mlContext, Regression(20, seed: 1));
        var options = ConvolutionOptions(epochs: 1);
        var model = mlContext.Regression.Trainers.ClipTrainer(options).Fit(data);
        string path = PathOf("unregistered.zip");
        SequencePipelineArchive.Save(mlContext, model, data.Schema, path);
        // The archive as another process without the registration sees it: rename the stored factory.
        var spec = JsonNode.Parse(ReadEntry(path, "stages/0.json"))!.AsObject();
        Assert.Equal(ConvolutionTestModule.Name, (string?)spec["ModuleFactoryName"]);
        spec["ModuleFactoryName"] = "tests.not-registered";
        ReplaceEntry(path, "stages/0.json", Encoding.UTF8.GetBytes(spec.ToJsonString()));

        var exception = Assert.Throws<InvalidOperationException>(() => SequencePipelineArchive.Load(new MLContext(), path, out _));

        Assert.Contains("'tests.not-registered'", exception.Message);
        Assert.Contains("not registered", exception.Message);
        Assert.Contains("SequenceModuleRegistry.Register(\"tests.not-registered\"", exception.Message);
    }

    [Fact]
    public void Constructor_UnregisteredModuleFactoryName_ThrowsNamingTheOption()
    {
        var options = ConvolutionOptions();
        options.ModuleFactoryName = "tests.not-registered";

        var exception = Assert.Throws<ArgumentException>(() => new MLContext().Regression.Trainers.ClipTrainer(options));

        Assert.Equal(nameof(SequenceTrainerOptions.ModuleFactoryName), exception.ParamName);
        Assert.Contains("'tests.not-registered'", exception.Message);
        Assert.Contains("SequenceModuleRegistry.Register(", exception.Message);
    }

    [Fact]
    public void Constructor_ModuleOptionsWithoutFactoryName_ThrowsNamingModuleOptions()
    {
        var options = SmallOptions();
        options.ModuleOptions["Channels"] = "4";

        var exception = Assert.Throws<ArgumentException>(() => new MLContext().Regression.Trainers.ClipTrainer(options));

        Assert.Equal(nameof(SequenceTrainerOptions.ModuleOptions), exception.ParamName);
        Assert.Contains("ModuleFactoryName is null", exception.Message);
    }

    [Fact]
    public void Fit_CustomModuleWithWrongOutputWidth_ThrowsTheLoopsShapeError()
    {
        var mlContext = new MLContext(seed: 1);
        var options = ConvolutionOptions(epochs: 1);
        options.ModuleOptions["ExtraOutputs"] = "2";
        var trainer = mlContext.Regression.Trainers.ClipTrainer(options);

        var exception = Assert.Throws<ArgumentException>(() => trainer.Fit(Load(mlContext, Regression(40, seed: 1))));

        // Regression needs one output; the module gives 1 + 2 for the first batch of 32 rows.
        Assert.Equal("model", exception.ParamName);
        Assert.Contains("[32, 3]", exception.Message);
        Assert.Contains("needs [32, 1]", exception.Message);
    }

    [Fact]
    public void Fit_BuiltInModel_GoesThroughTheRegistryAndStoresItsOptions()
    {
        var mlContext = new MLContext(seed: 1);
        var options = SmallOptions(maximumNumberOfEpochs: 1);
        options.NumberOfThreads = 1;
        options.CellType = RecurrentCellType.Gru;
        var model = mlContext.Regression.Trainers.ClipTrainer(options).Fit(Load(mlContext, Regression(20, seed: 1)));

        Assert.Equal(SequenceModuleRegistry.RecurrentModuleName, model.Model.ModuleFactoryName);
        Assert.Equal("Gru", model.Model.ModuleOptions["CellType"]);
        Assert.Equal("12", model.Model.ModuleOptions["HiddenSize"]);
        Assert.IsType<GRU>(Assert.IsType<SequenceModel>(model.Model.Network).named_children().Single(c => c.name == "recurrent").module);
    }
}
