using ClipTrainer.Clipping;
using ClipTrainer.Data;
using ClipTrainer.Training;
using Microsoft.ML;
using Xunit;
using static ClipTrainer.Tests.SequenceTestData;
using static TorchSharp.torch;

namespace ClipTrainer.Tests;

/// <summary>Failures that must say what to do: a one-class label, bad validation data, non-finite gradients, cancellation.</summary>
[Collection(TorchSharpTrainingCollection.Name)]
public class SequenceTrainerFailureTests
{
    [Fact]
    public void Fit_MulticlassLabelOfOneClass_ThrowsNamingTheColumnAndTheCount()
    {
        var mlContext = new MLContext(seed: 1);
        var rows = Multiclass(20, seed: 1);
        rows.ForEach(r => r.Label = "alpha");
        var keyed = mlContext.Transforms.Conversion.MapValueToKey("Label").Fit(Load(mlContext, rows)).Transform(Load(mlContext, rows));

        var exception = Assert.Throws<ArgumentOutOfRangeException>(() =>
            mlContext.MulticlassClassification.Trainers.ClipTrainer(SmallOptions()).Fit(keyed));

        Assert.Contains("Label column 'Label' has 1 class", exception.Message);
        Assert.Contains("at least 2", exception.Message);
    }

    [Fact]
    public void Fit_NaNInTheValidationSet_SaysItIsTheValidationSet()
    {
        var mlContext = new MLContext(seed: 1);
        var validation = Regression(10, seed: 2);
        validation[3].Features[1] = float.NaN;
        var options = SmallOptions(maximumNumberOfEpochs: 1);
        options.ValidationSet = Load(mlContext, validation);

        var exception = Assert.Throws<InvalidOperationException>(() =>
            mlContext.Regression.Trainers.ClipTrainer(options).Fit(Load(mlContext, Regression(20, seed: 1))));

        Assert.StartsWith("In the ValidationSet: Row 3 of feature column 'Features'", exception.Message);
    }

    [Fact]
    public void Fit_NonFiniteGradientsUnderTheErrorPolicy_MessageSaysWhereTrainingWas()
    {
        var mlContext = new MLContext(seed: 1);
        var options = SmallOptions(maximumNumberOfEpochs: 2);
        options.BatchSize = 10;
        options.Callbacks.Add(new PoisonAt(globalStep: 3));

        var exception = Assert.Throws<InvalidOperationException>(() =>
            mlContext.Regression.Trainers.ClipTrainer(options).Fit(Load(mlContext, Regression(20, seed: 1))));

        Assert.StartsWith("At epoch 2, step 1 (step 3 of the run): Non-finite gradients", exception.Message);
        Assert.Contains("NonFinitePolicy", exception.Message); // the fix the guard names
    }

    [Fact]
    public void Fit_CancellationTokenOnTheOptions_StopsBeforeTheNextBatchAndRestoresTheThreadCount()
    {
        using var cancellation = new CancellationTokenSource();
        var counter = new CancelAfter(cancellation, steps: 2);
        var mlContext = new MLContext(seed: 1);
        var options = SmallOptions(maximumNumberOfEpochs: 5);
        options.BatchSize = 5;
        options.NumberOfThreads = TorchSharp.torch.get_num_threads() == 1 ? 2 : 1;
        options.CancellationToken = cancellation.Token;
        options.Callbacks.Add(counter);
        int threads = TorchSharp.torch.get_num_threads();

        Assert.ThrowsAny<OperationCanceledException>(() => mlContext.Regression.Trainers.ClipTrainer(options).Fit(Load(mlContext, Regression(40, seed: 1))));

        Assert.Equal(2, counter.Steps); // cancelled in step 2; step 3 never began
        Assert.IsAssignableFrom<OperationCanceledException>(counter.Exception);
        Assert.Equal(threads, TorchSharp.torch.get_num_threads());
    }

    [Fact]
    public void Transform_NaNFeatureAtScoringTime_GivesThatRowNaNAndTheOthersTheirScores()
    {
        var mlContext = new MLContext(seed: 1);
        using var model = mlContext.Regression.Trainers.ClipTrainer(SmallOptions(maximumNumberOfEpochs: 1)).Fit(Load(mlContext, Regression(20, seed: 1)));
        var rows = Regression(3, seed: 5);
        var clean = Column<float>(model.Transform(Load(mlContext, rows)), "Score");
        rows[1].Features[4] = float.NaN;

        var scores = Column<float>(model.Transform(Load(mlContext, rows)), "Score");

        Assert.True(float.IsNaN(scores[1]));
        Assert.Equal(clean[0], scores[0]);
        Assert.Equal(clean[2], scores[2]);
    }

    private sealed class PoisonAt(long globalStep) : TrainingCallback
    {
        public override void OnAfterBackward(TrainingState state, Tensor loss)
        {
            if (state.GlobalStep != globalStep) return;
            using var noGrad = no_grad();
            state.Parameters[^1].Parameter.grad!.fill_(double.PositiveInfinity);
        }
    }

    private sealed class CancelAfter(CancellationTokenSource source, int steps) : TrainingCallback
    {
        public int Steps { get; private set; }
        public Exception? Exception { get; private set; }

        public override void OnAfterOptimizerStep(TrainingState state, GradientClipReport report)
        {
            if (++Steps == steps) source.Cancel();
        }

        public override void OnException(TrainingState state, Exception exception) => Exception = exception;
    }
}
