using Microsoft.ML;
using Microsoft.ML.Data;

namespace ClipTrainer.Tests;

/// <summary>
/// Learnable synthetic sequence tasks, made here from a seeded <see cref="Random"/>, so that the expected answers come
/// from the data's definition and never from the code under test. Sequences are time-major: step t's
/// <see cref="InputSize"/> features are at [t × InputSize, (t + 1) × InputSize).
/// </summary>
internal static class SequenceTestData
{
    public const int InputSize = 3;
    public const int SequenceLength = 6;
    public const int VectorSize = InputSize * SequenceLength;

    /// <summary>The multiclass label names, one per feature: the class is the feature with the largest sum over time.</summary>
    public static readonly string[] ClassNames = ["alpha", "beta", "gamma"];

    /// <summary>The weights of the binary task: the label is whether Σₜ Σₖ wₖ xₜₖ > 0.</summary>
    public static readonly float[] BinaryWeights = [1f, -1f, 0.5f];

    public static float[] RandomSequence(Random random, int steps)
    {
        var values = new float[steps * InputSize];
        for (int i = 0; i < values.Length; i++) values[i] = (float)(random.NextDouble() * 2 - 1);
        return values;
    }

    public static int LargestFeatureSum(float[] sequence)
    {
        var sums = new double[InputSize];
        for (int i = 0; i < sequence.Length; i++) sums[i % InputSize] += sequence[i];
        return Array.IndexOf(sums, sums.Max());
    }

    public static bool WeightedSumIsPositive(float[] sequence)
    {
        double sum = 0;
        for (int i = 0; i < sequence.Length; i++) sum += BinaryWeights[i % InputSize] * sequence[i];
        return sum > 0;
    }

    /// <summary>The regression target: twice the mean over time of feature 0.</summary>
    public static float MeanOfFirstFeature(float[] sequence)
    {
        double sum = 0;
        int steps = sequence.Length / InputSize;
        for (int t = 0; t < steps; t++) sum += sequence[t * InputSize];
        return (float)(2 * sum / steps);
    }

    /// <summary>Options for a small, fast model on the fixed-length test tasks.</summary>
    public static SequenceTrainerOptions SmallOptions(int maximumNumberOfEpochs = 6) => new()
    {
        InputSize = InputSize,
        SequenceLength = SequenceLength,
        HiddenSize = 12,
        MaximumNumberOfEpochs = maximumNumberOfEpochs,
        LearningRate = 0.02,
    };

    public static List<MulticlassRow> Multiclass(int count, int seed)
    {
        var random = new Random(seed);
        return Enumerable.Range(0, count).Select(_ =>
        {
            var sequence = RandomSequence(random, SequenceLength);
            return new MulticlassRow { Features = sequence, Label = ClassNames[LargestFeatureSum(sequence)] };
        }).ToList();
    }

    public static List<BinaryRow> Binary(int count, int seed)
    {
        var random = new Random(seed);
        return Enumerable.Range(0, count).Select(_ =>
        {
            var sequence = RandomSequence(random, SequenceLength);
            return new BinaryRow { Features = sequence, Label = WeightedSumIsPositive(sequence) };
        }).ToList();
    }

    public static List<RegressionRow> Regression(int count, int seed)
    {
        var random = new Random(seed);
        return Enumerable.Range(0, count).Select(_ =>
        {
            var sequence = RandomSequence(random, SequenceLength);
            return new RegressionRow { Features = sequence, Label = MeanOfFirstFeature(sequence) };
        }).ToList();
    }

    /// <summary>
    /// Regression rows whose label is 1.5 plus noise independent of the features: a model first learns the offset, then
    /// can only memorize the noise.
    /// </summary>
    public static List<RegressionRow> NoiseRegression(int count, int seed)
    {
        var random = new Random(seed);
        return Enumerable.Range(0, count).Select(_ => new RegressionRow
        {
            Features = RandomSequence(random, SequenceLength),
            Label = (float)(1.5 + random.NextDouble() * 2 - 1),
        }).ToList();
    }

    /// <summary>Regression rows of lengths drawn from [minimumSteps, maximumSteps], in a variable-size column.</summary>
    public static List<VariableRegressionRow> VariableRegression(int count, int seed, int minimumSteps = 1, int maximumSteps = 8)
    {
        var random = new Random(seed);
        return Enumerable.Range(0, count).Select(_ =>
        {
            var sequence = RandomSequence(random, random.Next(minimumSteps, maximumSteps + 1));
            return new VariableRegressionRow { Features = sequence, Label = MeanOfFirstFeature(sequence) };
        }).ToList();
    }

    public static IDataView Load<T>(MLContext mlContext, IEnumerable<T> rows) where T : class =>
        mlContext.Data.LoadFromEnumerable(rows.ToList());

    /// <summary>The <see cref="SchemaShape"/> of data loaded from <typeparamref name="T"/>, through public API only.</summary>
    public static SchemaShape ShapeOf<T>(MLContext mlContext) where T : class, new() =>
        mlContext.Transforms.CustomMapping<NoColumns, T>((_, _) => { }, contractName: null)
            .GetOutputSchema(new SchemaShape(Array.Empty<SchemaShape.Column>()));

    /// <summary>Reads a column of a data view into a list.</summary>
    public static List<T> Column<T>(IDataView data, string name)
    {
        var column = data.Schema[name];
        var values = new List<T>();
        using var cursor = data.GetRowCursor([column]);
        var getter = cursor.GetGetter<T>(column);
        while (cursor.MoveNext())
        {
            T value = default!;
            getter(ref value);
            values.Add(value);
        }
        return values;
    }

    /// <summary>Reads a vector column of a data view into arrays.</summary>
    public static List<float[]> VectorColumn(IDataView data, string name) =>
        Column<VBuffer<float>>(data, name).Select(v => v.DenseValues().ToArray()).ToList();
}

public sealed class NoColumns;

public sealed class MulticlassRow
{
    [VectorType(SequenceTestData.VectorSize)]
    public float[] Features { get; set; } = [];

    public string Label { get; set; } = "";
}

public sealed class BinaryRow
{
    [VectorType(SequenceTestData.VectorSize)]
    public float[] Features { get; set; } = [];

    public bool Label { get; set; }
}

public sealed class RegressionRow
{
    [VectorType(SequenceTestData.VectorSize)]
    public float[] Features { get; set; } = [];

    public float Label { get; set; }
}

/// <summary>A row whose feature column is a variable-size vector (no VectorType size).</summary>
public sealed class VariableRegressionRow
{
    public float[] Features { get; set; } = [];

    public float Label { get; set; }
}

public sealed class MulticlassPrediction
{
    public string PredictedLabel { get; set; } = "";

    public float[] Score { get; set; } = [];
}

public sealed class BinaryPrediction
{
    public bool PredictedLabel { get; set; }

    public float Score { get; set; }

    public float Probability { get; set; }
}

public sealed class RegressionPrediction
{
    public float Score { get; set; }
}

public sealed class NumericClassRow
{
    [VectorType(SequenceTestData.VectorSize)]
    public float[] Features { get; set; } = [];

    public float Label { get; set; }
}

public sealed class KeyLabelRow
{
    [VectorType(SequenceTestData.VectorSize)]
    public float[] Features { get; set; } = [];

    [KeyType(3)]
    public uint Label { get; set; }
}

public sealed class ShortRow
{
    [VectorType(15)]
    public float[] Features { get; set; } = [];

    public float Label { get; set; }
}

public sealed class NoFeaturesRow
{
    [VectorType(SequenceTestData.VectorSize)]
    public float[] Sequence { get; set; } = new float[SequenceTestData.VectorSize];

    public float Label { get; set; }
}

public sealed class DoubleFeaturesRow
{
    [VectorType(SequenceTestData.VectorSize)]
    public double[] Features { get; set; } = new double[SequenceTestData.VectorSize];

    public float Label { get; set; }
}

public sealed class ScalarFeaturesRow
{
    public float Features { get; set; }

    public float Label { get; set; }
}

public sealed class DoubleLabelRow
{
    [VectorType(SequenceTestData.VectorSize)]
    public float[] Features { get; set; } = new float[SequenceTestData.VectorSize];

    public double Label { get; set; }
}

public sealed class NoLabelRow
{
    [VectorType(SequenceTestData.VectorSize)]
    public float[] Features { get; set; } = new float[SequenceTestData.VectorSize];

    public bool Target { get; set; }
}
