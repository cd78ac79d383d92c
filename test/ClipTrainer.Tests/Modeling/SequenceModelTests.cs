using Xunit;
using ClipTrainer.Modeling;
using TorchSharp;
using static TorchSharp.torch;

namespace ClipTrainer.Tests.Modeling;

public class SequenceModelTests
{
    private const int InputSize = 3;
    private const int HiddenSize = 5;
    private const int OutputSize = 4;
    private const double Tolerance = 1e-6;

    public static TheoryData<RecurrentCellType, SequencePooling, bool> AllShapes()
    {
        var data = new TheoryData<RecurrentCellType, SequencePooling, bool>();
        foreach (var cell in Enum.GetValues<RecurrentCellType>())
        {
            foreach (var pooling in Enum.GetValues<SequencePooling>())
            {
                data.Add(cell, pooling, false);
                data.Add(cell, pooling, true);
            }
        }

        return data;
    }

    private static SequenceModel CreateModel(RecurrentCellType cell, SequencePooling pooling, bool bidirectional, int layers = 2, long seed = 7)
    {
        var model = SequenceModel.Create(
            new SequenceModelOptions
            {
                CellType = cell,
                InputSize = InputSize,
                HiddenSize = HiddenSize,
                NumberOfLayers = layers,
                Bidirectional = bidirectional,
                Dropout = 0.25,
                Pooling = pooling,
                OutputSize = OutputSize,
            },
            seed);
        model.eval();
        return model;
    }

    [Theory]
    [MemberData(nameof(AllShapes))]
    public void Forward_AnyCellPoolingAndDirection_ReturnsBatchByOutputSize(RecurrentCellType cell, SequencePooling pooling, bool bidirectional)
    {
        using var scope = NewDisposeScope();
        using var model = CreateModel(cell, pooling, bidirectional);
        var input = randn(new long[] { 3, 6, InputSize }, generator: new Generator(1));

        var withoutLengths = model.forward(input, null);
        var withLengths = model.forward(input, tensor(new long[] { 6, 1, 4 }));

        Assert.Equal(new long[] { 3, OutputSize }, withoutLengths.shape);
        Assert.Equal(new long[] { 3, OutputSize }, withLengths.shape);
        Assert.Equal(ScalarType.Float32, withLengths.dtype);
        Assert.True(withLengths.isfinite().all().item<bool>());
    }

    [Theory]
    [MemberData(nameof(AllShapes))]
    public void Forward_RowPaddedInsideLongerBatch_MatchesRowScoredAlone(RecurrentCellType cell, SequencePooling pooling, bool bidirectional)
    {
        using var scope = NewDisposeScope();
        using var model = CreateModel(cell, pooling, bidirectional);
        var lengths = new long[] { 5, 2, 7, 1 };
        var batch = randn(new long[] { 4, 7, InputSize }, generator: new Generator(2));
        // Padding holds large values, not zeros, so any read past a row's length shows up in the output.
        for (var row = 0; row < lengths.Length; row++)
        {
            batch[row, TensorIndex.Slice(lengths[row])] = tensor(100f);
        }

        var batched = model.forward(batch, tensor(lengths));

        for (var row = 0; row < lengths.Length; row++)
        {
            var alone = model.forward(batch[TensorIndex.Slice(row, row + 1), TensorIndex.Slice(0, lengths[row])], null);
            AssertClose(alone[0], batched[row]);
        }
    }

    [Theory]
    [MemberData(nameof(AllShapes))]
    public void Forward_AnyShape_MatchesReferenceComputationOnRawRecurrentModule(RecurrentCellType cell, SequencePooling pooling, bool bidirectional)
    {
        using var scope = NewDisposeScope();
        using var model = CreateModel(cell, pooling, bidirectional, layers: 1);
        var parameters = model.named_parameters().ToDictionary(pair => pair.name, pair => pair.parameter);
        var lengths = new long[] { 3, 6 };
        var batch = randn(new long[] { 2, 6, InputSize }, generator: new Generator(3));

        var actual = model.forward(batch, tensor(lengths));

        var reference = CreateReferenceModule(cell, bidirectional);
        foreach (var (name, parameter) in reference.named_parameters())
        {
            using var noGrad = no_grad();
            parameter.copy_(parameters["recurrent." + name]);
        }

        for (var row = 0; row < lengths.Length; row++)
        {
            var sequence = batch[TensorIndex.Slice(row, row + 1), TensorIndex.Slice(0, lengths[row])];
            var outputs = RunReference(reference, sequence)[0];                 // [length, directions × hidden]
            var pooled = pooling switch
            {
                SequencePooling.Mean => outputs.mean(new long[] { 0 }),
                SequencePooling.Max => outputs.amax(new long[] { 0 }),
                _ when bidirectional => cat(new[] { outputs[lengths[row] - 1, TensorIndex.Slice(0, HiddenSize)], outputs[0, TensorIndex.Slice(HiddenSize)] }, 0),
                _ => outputs[lengths[row] - 1],
            };
            var expected = nn.functional.linear(pooled, parameters["head.weight"], parameters["head.bias"]);
            AssertClose(expected, actual[row]);
        }
    }

    [Fact]
    public void Forward_NullLengths_EqualsFullLengths()
    {
        using var scope = NewDisposeScope();
        using var model = CreateModel(RecurrentCellType.Gru, SequencePooling.Max, bidirectional: true);
        var input = randn(new long[] { 3, 4, InputSize }, generator: new Generator(4));

        AssertClose(model.forward(input, null), model.forward(input, tensor(new long[] { 4, 4, 4 })));
    }

    [Fact]
    public void Forward_CallersLengthsTensor_StaysUsableAfterForward()
    {
        using var scope = NewDisposeScope();
        using var model = CreateModel(RecurrentCellType.Lstm, SequencePooling.LastStep, bidirectional: false);
        var input = randn(new long[] { 2, 4, InputSize }, generator: new Generator(8));
        var lengths = tensor(new long[] { 3, 4 });

        var first = model.forward(input, lengths);
        var second = model.forward(input, lengths);

        Assert.False(lengths.IsInvalid);
        Assert.Equal(new long[] { 3, 4 }, lengths.data<long>().ToArray());
        AssertClose(first, second);
    }

    [Fact]
    public void Forward_Int32Lengths_AreAccepted()
    {
        using var scope = NewDisposeScope();
        using var model = CreateModel(RecurrentCellType.Rnn, SequencePooling.Mean, bidirectional: false);
        var input = randn(new long[] { 2, 4, InputSize }, generator: new Generator(5));

        AssertClose(model.forward(input, tensor(new long[] { 2, 4 })), model.forward(input, tensor(new int[] { 2, 4 })));
    }

    [Fact]
    public void Create_SameSeedTwice_GivesIdenticalParameters()
    {
        using var first = CreateModel(RecurrentCellType.Lstm, SequencePooling.LastStep, bidirectional: true, seed: 11);
        using var second = CreateModel(RecurrentCellType.Lstm, SequencePooling.LastStep, bidirectional: true, seed: 11);
        // Advancing the global generator between the two must not matter.
        using var noise = rand(100);

        var firstParameters = first.named_parameters().ToList();
        var secondParameters = second.named_parameters().ToList();

        Assert.Equal(firstParameters.Select(p => p.name), secondParameters.Select(p => p.name));
        Assert.All(firstParameters.Zip(secondParameters), pair => Assert.True((pair.First.parameter == pair.Second.parameter).all().item<bool>()));
    }

    [Fact]
    public void Create_DifferentSeeds_GiveDifferentParameters()
    {
        using var first = CreateModel(RecurrentCellType.Gru, SequencePooling.Mean, bidirectional: false, seed: 1);
        using var second = CreateModel(RecurrentCellType.Gru, SequencePooling.Mean, bidirectional: false, seed: 2);

        var pairs = first.parameters().Zip(second.parameters());

        Assert.All(pairs, pair => Assert.False((pair.First == pair.Second).any().item<bool>()));
    }

    [Fact]
    public void Create_Seeded_ParametersStayWithinPyTorchDefaultBounds()
    {
        using var model = CreateModel(RecurrentCellType.Rnn, SequencePooling.LastStep, bidirectional: true);
        var recurrentBound = 1.0 / Math.Sqrt(HiddenSize);
        var headBound = 1.0 / Math.Sqrt(2 * HiddenSize);

        foreach (var (name, parameter) in model.named_parameters())
        {
            var bound = name.StartsWith("head.", StringComparison.Ordinal) ? headBound : recurrentBound;
            Assert.True(parameter.abs().max().item<float>() <= bound, $"{name} exceeds ±{bound}.");
            Assert.True(parameter.std().item<float>() > bound / 4, $"{name} looks constant.");
        }
    }

    [Fact]
    public void NamedParameters_Registered_RecurrentAndHeadNames()
    {
        using var model = CreateModel(RecurrentCellType.Lstm, SequencePooling.LastStep, bidirectional: false, layers: 1);

        var names = model.named_parameters().Select(p => p.name).ToList();

        Assert.Contains("recurrent.weight_ih_l0", names);
        Assert.Contains("head.weight", names);
        Assert.Contains("head.bias", names);
    }

    [Fact]
    public void Forward_TrainingModeWithDropout_DiffersFromEvalMode()
    {
        using var scope = NewDisposeScope();
        using var model = CreateModel(RecurrentCellType.Lstm, SequencePooling.Mean, bidirectional: false);
        var input = randn(new long[] { 8, 5, InputSize }, generator: new Generator(6));
        var evaluated = model.forward(input, null);

        model.train();
        var trained = model.forward(input, null);

        Assert.False(evaluated.allclose(trained));
    }

    [Fact]
    public void Dispose_Model_ReleasesEveryParameter()
    {
        var model = CreateModel(RecurrentCellType.Lstm, SequencePooling.Mean, bidirectional: true);
        var parameters = model.parameters().ToList();

        model.Dispose();

        Assert.All(parameters, parameter => Assert.True(parameter.IsInvalid));
    }

    [Fact]
    public void Forward_WrongInputSize_ThrowsArgumentExceptionNamingShape()
    {
        using var model = CreateModel(RecurrentCellType.Rnn, SequencePooling.LastStep, bidirectional: false);
        using var input = zeros(2, 4, InputSize + 1);

        var exception = Assert.Throws<ArgumentException>(() => model.forward(input, null));

        Assert.Equal("input", exception.ParamName);
        Assert.Contains($"[batch, time, {InputSize}], got [2, 4, {InputSize + 1}]", exception.Message);
    }

    [Theory]
    [InlineData(0L)]
    [InlineData(5L)]
    public void Forward_LengthOutsideOneToTime_ThrowsArgumentException(long badLength)
    {
        using var model = CreateModel(RecurrentCellType.Gru, SequencePooling.LastStep, bidirectional: false);
        using var input = zeros(2, 4, InputSize);
        using var lengths = tensor(new long[] { 2, badLength });

        var exception = Assert.Throws<ArgumentException>(() => model.forward(input, lengths));

        Assert.Equal("lengths", exception.ParamName);
        Assert.Contains("must be in [1, 4]", exception.Message);
    }

    [Fact]
    public void Forward_LengthsOfWrongBatchSize_ThrowsArgumentException()
    {
        using var model = CreateModel(RecurrentCellType.Gru, SequencePooling.LastStep, bidirectional: false);
        using var input = zeros(2, 4, InputSize);
        using var lengths = tensor(new long[] { 2, 3, 4 });

        var exception = Assert.Throws<ArgumentException>(() => model.forward(input, lengths));

        Assert.Equal("lengths", exception.ParamName);
    }

    [Fact]
    public void Constructor_InvalidOptions_ThrowsBeforeBuildingModules()
    {
        var exception = Assert.Throws<ArgumentOutOfRangeException>(() => new SequenceModel(new SequenceModelOptions { InputSize = 2 }));

        Assert.Equal(nameof(SequenceModelOptions.OutputSize), exception.ParamName);
    }

    [Fact]
    public void Options_AfterConstruction_IsACopy()
    {
        var options = new SequenceModelOptions { InputSize = 2, OutputSize = 3, HiddenSize = 4 };
        using var model = new SequenceModel(options);

        options.HiddenSize = 99;
        model.Options.HiddenSize = 98;

        Assert.Equal(4, model.Options.HiddenSize);
    }

    private static nn.Module CreateReferenceModule(RecurrentCellType cell, bool bidirectional) => cell switch
    {
        RecurrentCellType.Rnn => nn.RNN(InputSize, HiddenSize, batchFirst: true, bidirectional: bidirectional),
        RecurrentCellType.Lstm => nn.LSTM(InputSize, HiddenSize, batchFirst: true, bidirectional: bidirectional),
        _ => nn.GRU(InputSize, HiddenSize, batchFirst: true, bidirectional: bidirectional),
    };

    private static Tensor RunReference(nn.Module module, Tensor input) => module switch
    {
        TorchSharp.Modules.RNN rnn => rnn.call(input).Item1,
        TorchSharp.Modules.LSTM lstm => lstm.call(input).Item1,
        TorchSharp.Modules.GRU gru => gru.call(input).Item1,
        _ => throw new InvalidOperationException(),
    };

    private static void AssertClose(Tensor expected, Tensor actual)
    {
        Assert.Equal(expected.shape, actual.shape);
        var difference = (expected - actual).abs().max().item<float>();
        Assert.True(difference <= Tolerance, $"Max difference {difference} exceeds {Tolerance}.");
    }
}
