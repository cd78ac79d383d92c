using ClipTrainer.Samples;
using ClipTrainer.Samples.Tasks;
using Microsoft.ML;
using Microsoft.ML.Data;
using Xunit;

namespace ClipTrainer.Tests.Samples.Tasks;

/// <summary>The generators of the compare command's tasks, checked against their definitions.</summary>
public class ComparisonTaskTests
{
    [Fact]
    public void AddingProblem_PredictingOne_GivesMse016()
    {
        // Var(U₁ + U₂) = 2/12 = 0.1667 for two independent U[0, 1]: the baseline of Arjovsky et al.
        var rows = AddingProblemTask.Rows(20_000, length: 20, seed: 3);
        double mse = rows.Average(r => (r.Label - 1.0) * (r.Label - 1.0));

        Assert.Equal(0.167, mse, 0.005);
        Assert.Equal(1.0 / 6, AddingProblemTask.BaselineMeanSquaredError, 12);
    }

    [Fact]
    public void AddingProblem_HasOneMarkerInEachHalf_AndTheirSumAsLabel()
    {
        const int T = 11; // halves [0, 5) and [5, 11)
        foreach (var row in AddingProblemTask.Rows(200, T, seed: 4))
        {
            var marked = Enumerable.Range(0, T).Where(t => row.Features[2 * t + 1] == 1).ToArray();
            Assert.Equal(2, marked.Length);
            Assert.InRange(marked[0], 0, T / 2 - 1);
            Assert.InRange(marked[1], T / 2, T - 1);
            Assert.Equal(row.Features[2 * marked[0]] + row.Features[2 * marked[1]], row.Label);
            Assert.Equal(T - 2, Enumerable.Range(0, T).Count(t => row.Features[2 * t + 1] == 0));
        }
    }

    [Fact]
    public void TemporalOrder_IsOneHot_WithAOrBInEachWindow_AndTheOrderedPairAsClass()
    {
        const int T = 50; // windows [5, 10) and [25, 30)
        var classes = new HashSet<string>();
        foreach (var row in TemporalOrderTask.Rows(300, T, seed: 5))
        {
            var symbols = Enumerable.Range(0, T).Select(t =>
            {
                var step = row.Features.AsSpan(t * 6, 6).ToArray();
                Assert.Equal(1, step.Sum());
                return Array.IndexOf(step, 1f);
            }).ToArray();
            var relevant = Enumerable.Range(0, T).Where(t => symbols[t] < 2).ToArray(); // A = 0, B = 1
            Assert.Equal(2, relevant.Length);
            Assert.InRange(relevant[0], 5, 9);
            Assert.InRange(relevant[1], 25, 29);
            Assert.Equal($"{"AB"[symbols[relevant[0]]]}{"AB"[symbols[relevant[1]]]}", row.Label);
            classes.Add(row.Label);
        }

        Assert.Equal(["AA", "AB", "BA", "BB"], classes.Order());
    }

    [Fact]
    public void Tasks_LoadAsKnownSizeVectors_WithTheTrainersLabelTypes()
    {
        var mlContext = new MLContext(seed: 0);
        var adding = AddingProblemTask.Task.MakeData(mlContext, new TaskDataRequest(12, 1));
        var order = TemporalOrderTask.Task.MakeData(mlContext, new TaskDataRequest(20, 1));

        Assert.Equal(24, ((VectorDataViewType)adding.Train.Schema["Features"].Type).Size);
        Assert.Equal(120, ((VectorDataViewType)order.Test.Schema["Features"].Type).Size);
        Assert.Equal(4ul, ((KeyDataViewType)order.Train.Schema["Label"].Type).Count);
        // Every row keeps a class (key 1…4, none missing), AA first: the trainer reads all of them.
        var keys = order.Train.GetColumn<uint>("Label").ToArray();
        Assert.Equal(TemporalOrderTask.TrainingRows, keys.Length);
        Assert.Equal([1u, 2u, 3u, 4u], keys.Distinct().Order());
        var keyValues = default(VBuffer<ReadOnlyMemory<char>>);
        order.Train.Schema["Label"].GetKeyValues(ref keyValues);
        Assert.Equal(TemporalOrderTask.ClassNames, keyValues.DenseValues().Select(v => v.ToString()));
        Assert.Equal(AddingProblemTask.TestRows, adding.Test.GetRowCount());
    }

    [Fact]
    public void Named_FindsEveryTask_AndNamesThemWhenUnknown()
    {
        Assert.Equal(["adding", "temporal-order", "exploding", "fashion-rows", "forecast"], ComparisonTasks.All.Select(t => t.Name));
        Assert.Same(TemporalOrderTask.Task, ComparisonTasks.Named("Temporal-Order"));
        var e = Assert.Throws<SampleArgumentException>(() => ComparisonTasks.Named("mnist"));
        Assert.Contains("--task adding|temporal-order|exploding|fashion-rows|forecast", e.Message);
    }

    [Fact]
    public void Generators_RejectLengthsTooShortForTheirMarkers()
    {
        Assert.Contains("--length", Assert.Throws<SampleArgumentException>(() => AddingProblemTask.Rows(1, 1, 0)).Message);
        Assert.Contains("--length", Assert.Throws<SampleArgumentException>(() => TemporalOrderTask.Rows(1, 9, 0)).Message);
    }
}
