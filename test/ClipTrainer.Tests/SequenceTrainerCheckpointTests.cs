using ClipTrainer.Modeling;
using ClipTrainer.Training;
using Microsoft.ML;
using Xunit;
using static ClipTrainer.Tests.SequenceTestData;

namespace ClipTrainer.Tests;

/// <summary>Checkpoints through the ML.NET trainer: a cancelled Fit, resumed, ends bit-identical to an uninterrupted one.</summary>
[Collection(TorchSharpTrainingCollection.Name)]
public sealed class SequenceTrainerCheckpointTests : IDisposable
{
    private readonly string _root = Directory.CreateTempSubdirectory("cliptrainer-fit-resume-").FullName;

    public void Dispose() => Directory.Delete(_root, recursive: true);

    private static SequenceTrainerOptions Options(string? directory)
    {
        var options = SmallOptions(maximumNumberOfEpochs: 3);
        options.CellType = RecurrentCellType.Gru;
        options.NumberOfLayers = 2;
        options.Dropout = 0.2;          // draws from the global generator
        options.BatchSize = 8;          // 60 rows: 8 batches per epoch
        options.NumberOfThreads = 1;
        options.Checkpoints = directory is null ? null : new CheckpointOptions { Directory = directory, EveryEpochs = null };
        return options;
    }

    private static float[][] Fit(MLContext mlContext, IDataView data, SequenceTrainerOptions options)
    {
        using var model = mlContext.MulticlassClassification.Trainers.ClipTrainer(options).Fit(data);
        return model.Model.Network.parameters().Select(p => p.data<float>().ToArray()).ToArray();
    }

    private sealed class CancelAfter(CancellationTokenSource source, long step) : TrainingCallback
    {
        public override void OnAfterOptimizerStep(TrainingState state, ClipTrainer.Clipping.GradientClipReport report)
        {
            if (state.GlobalStep == step) source.Cancel();
        }
    }

    [Fact]
    public void Fit_CancelledMidEpochThenResumed_EndsBitIdenticalToAnUninterruptedFit()
    {
        var mlContext = new MLContext(seed: 1);
        var data = mlContext.Transforms.Conversion.MapValueToKey("Label").Fit(Load(mlContext, Multiclass(60, seed: 4)))
            .Transform(Load(mlContext, Multiclass(60, seed: 4)));
        var expected = Fit(mlContext, data, Options(null));

        var directory = Path.Combine(_root, "fit");
        using var cancel = new CancellationTokenSource();
        var interrupted = Options(directory);
        interrupted.CancellationToken = cancel.Token;
        interrupted.Callbacks.Add(new CancelAfter(cancel, step: 11)); // epoch 2, step 3 of 8
        Assert.Throws<OperationCanceledException>(() => Fit(mlContext, data, interrupted));
        Assert.True(Directory.Exists(Path.Combine(directory, "checkpoint-000000000011")));

        var resumed = Options(directory);
        resumed.Checkpoints!.ResumeFromLatest = true;
        var actual = Fit(mlContext, data, resumed);
        Assert.Equal(expected.Length, actual.Length);
        for (var i = 0; i < expected.Length; i++) Assert.Equal(expected[i], actual[i]);
    }
}
