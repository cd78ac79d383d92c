using ClipTrainer.Modeling;
using Microsoft.ML;
using Xunit;
using static ClipTrainer.Tests.SequenceTestData;

namespace ClipTrainer.Tests.Modeling;

/// <summary>
/// The chrono initialisation of an LSTM's gate biases (Tallec &amp; Ollivier 2018): forget bias log U[1, T_max − 1],
/// input bias its negative, hidden-to-hidden biases of both gates zero, the cell and output gates as before; refused
/// for other cells and for T_max below 3; carried through the trainer's module options and an archive.
/// </summary>
[Collection(TorchSharpTrainingCollection.Name)]
public sealed class ChronoInitializationTests
{
    private const int Hidden = 6;

    private static SequenceModelOptions Options(int? chrono, RecurrentCellType cell = RecurrentCellType.Lstm) => new()
    {
        CellType = cell, InputSize = 3, HiddenSize = Hidden, NumberOfLayers = 2, Bidirectional = true, OutputSize = 2,
        ChronoInitializationLength = chrono,
    };

    private static Dictionary<string, float[]> Biases(SequenceModel model) =>
        model.named_parameters().Where(p => p.name.Contains("bias_", StringComparison.Ordinal))
            .ToDictionary(p => p.name, p => p.parameter.data<float>().ToArray());

    [Fact]
    public void Create_WithChrono_SetsEveryLayersAndDirectionsGateBiases_AndLeavesTheOtherGates()
    {
        using var plain = SequenceModel.Create(Options(null), seed: 4);
        using var chrono = SequenceModel.Create(Options(50), seed: 4);
        var before = Biases(plain);
        var after = Biases(chrono);

        Assert.Equal(8, after.Count); // 2 layers × 2 directions × (ih, hh)
        foreach (var (name, values) in after)
        {
            Assert.Equal(4 * Hidden, values.Length); // gates i, f, g, o
            if (name.Contains("bias_hh", StringComparison.Ordinal))
            {
                Assert.All(values.Take(2 * Hidden), v => Assert.Equal(0f, v));
            }
            else
            {
                var input = values.Take(Hidden).ToArray();
                var forget = values.Skip(Hidden).Take(Hidden).ToArray();
                Assert.All(forget, f => Assert.InRange(f, 0f, (float)Math.Log(49) + 1e-6f)); // log U[1, 49]
                Assert.True(forget.Max() - forget.Min() > 0.1, "drawn, not one constant");
                for (var j = 0; j < Hidden; j++) Assert.Equal(-forget[j], input[j]);
            }

            Assert.Equal(before[name].Skip(2 * Hidden), values.Skip(2 * Hidden)); // cell and output gates: the default draw
        }
    }

    [Fact]
    public void Create_WithChrono_IsAFunctionOfTheSeed()
    {
        using var first = SequenceModel.Create(Options(50), seed: 4);
        using var second = SequenceModel.Create(Options(50), seed: 4);
        using var other = SequenceModel.Create(Options(50), seed: 5);

        static float[] FirstInputBias(SequenceModel model) => Biases(model).First(b => b.Key.EndsWith("bias_ih_l0", StringComparison.Ordinal)).Value;
        Assert.Equal(FirstInputBias(first), FirstInputBias(second));
        Assert.NotEqual(FirstInputBias(first), FirstInputBias(other));
    }

    [Theory]
    [InlineData(RecurrentCellType.Gru, 50, "CellType is Gru")]
    [InlineData(RecurrentCellType.Rnn, 50, "CellType is Rnn")]
    [InlineData(RecurrentCellType.Lstm, 2, "at least 3")]
    public void Validate_RefusesChronoOutsideAnLstmOrBelow3_NamingTheOption(RecurrentCellType cell, int chrono, string reason)
    {
        var error = Assert.Throws<ArgumentOutOfRangeException>(() => Options(chrono, cell).Validate());

        Assert.Equal(nameof(SequenceModelOptions.ChronoInitializationLength), error.ParamName);
        Assert.Contains(reason, error.Message);
    }

    [Fact]
    public void TrainerOption_ReachesTheModule_AndSurvivesAnArchive()
    {
        var mlContext = new MLContext(seed: 1);
        var data = Load(mlContext, Regression(16, seed: 2));
        var options = SmallOptions(maximumNumberOfEpochs: 1);
        options.CellType = RecurrentCellType.Lstm;
        options.ChronoInitializationLength = 30;
        options.NumberOfThreads = 1;
        using var model = mlContext.Regression.Trainers.ClipTrainer(options).Fit(data);
        Assert.Equal(30, model.Model.Options!.ChronoInitializationLength);
        Assert.Equal("30", model.Model.ModuleOptions[nameof(SequenceModelOptions.ChronoInitializationLength)]);

        var path = Path.Combine(Path.GetTempPath(), $"chrono-{Guid.NewGuid():N}.zip");
        try
        {
            ClipTrainer.Persistence.SequencePipelineArchive.Save(mlContext, model, data.Schema, path);
            var loaded = ClipTrainer.Persistence.SequencePipelineArchive.Load(mlContext, path, out _);
            var sequence = Assert.IsType<SequenceTransformer>(Assert.Single(loaded));
            Assert.Equal(30, sequence.Model.Options!.ChronoInitializationLength);
            sequence.Dispose();
        }
        finally
        {
            File.Delete(path);
        }
    }

    [Fact]
    public void ModuleOptions_WithoutChrono_HaveNoChronoKey_SoEarlierArchivesAndModelsReadTheSame()
    {
        var options = Options(null);

        Assert.DoesNotContain(nameof(SequenceModelOptions.ChronoInitializationLength), RecurrentModuleOptions.ToDictionary(options).Keys);
    }
}
