using System.Globalization;
using System.Text.Json;
using ClipTrainer.Clipping;
using ClipTrainer.Data;
using ClipTrainer.Training;
using Xunit;
using static ClipTrainer.Tests.Training.EngineTestKit;

namespace ClipTrainer.Tests.Training;

/// <summary>The history's CSV and JSON files, written after training (Save) and while training (HistoryFilesCallback).</summary>
[Collection(TorchSharpTrainingCollection.Name)]
public sealed class TrainingHistoryTests : IDisposable
{
    private readonly string _directory = Path.Combine(Path.GetTempPath(), "cliptrainer-history-" + Guid.NewGuid().ToString("N"));

    public void Dispose()
    {
        if (Directory.Exists(_directory)) Directory.Delete(_directory, recursive: true);
    }

    private static TrainingHistory Train(TrainingCallback? callback = null, ClippingMode mode = ClippingMode.GlobalThenLocal)
    {
        var settings = RegressionSettings(mode, threshold: 0.2);
        settings.MaximumNumberOfEpochs = 2;
        settings.RecordGradientNorms = GradientNormDetail.Parameter;
        settings.StepRecordBlockSize = 3;
        if (callback is not null) settings.Callbacks.Add(callback);
        using var model = new LastStepLinear(2, 1);
        return SequenceTrainingLoop.Run(model, SequenceTask.Regression, RandomRegression(2, batchCount: 4, batchSize: 4, time: 2, seed: 11), null, settings);
    }

    [Fact]
    public void Save_WritesOneCsvRowPerStepAndPerEpochWithExactValues()
    {
        var history = Train();

        history.Save(_directory);

        var steps = File.ReadAllLines(Path.Combine(_directory, "history.csv"));
        Assert.Equal("epoch,step,step_in_epoch,loss,pre_clip_norm,post_clip_norm,clipped,skipped,learning_rate," +
            "coefficient/GlobalNorm,coefficient/LocalNorm,norm/linear.weight,norm/linear.bias", steps[0]);
        Assert.Equal(history.Steps.Count + 1, steps.Length);
        for (int i = 0; i < history.Steps.Count; i++)
        {
            var cells = steps[i + 1].Split(',');
            var record = history.Steps[i];
            Assert.Equal(record.Step, long.Parse(cells[1], CultureInfo.InvariantCulture));
            Assert.Equal(record.PreClipNorm, double.Parse(cells[4], CultureInfo.InvariantCulture)); // round-trip format: exact
            Assert.Equal(record.StageCoefficients[1], double.Parse(cells[10], CultureInfo.InvariantCulture));
            Assert.Equal(record.GroupNorms[1], double.Parse(cells[12], CultureInfo.InvariantCulture));
        }

        var epochs = File.ReadAllLines(Path.Combine(_directory, "epochs.csv"));
        Assert.Equal(3, epochs.Length);
        Assert.Equal(history.Epochs[1].MedianGradientNorm, double.Parse(epochs[2].Split(',')[5], CultureInfo.InvariantCulture));
    }

    [Fact]
    public void Save_JsonHoldsEpochsStepsAndTheRunsFacts()
    {
        var history = Train();

        history.Save(_directory);

        using var json = JsonDocument.Parse(File.ReadAllText(Path.Combine(_directory, "history.json")));
        var root = json.RootElement;
        Assert.Equal("RSquared", root.GetProperty("validationMetricName").GetString());
        Assert.Equal(2, root.GetProperty("epochs").GetArrayLength());
        Assert.Equal(8, root.GetProperty("steps").GetArrayLength());
        var last = root.GetProperty("steps")[7];
        Assert.Equal(history.Steps[7].PostClipNorm, last.GetProperty("postClipNorm").GetDouble());
        Assert.Equal(["GlobalNorm", "LocalNorm"], root.GetProperty("stageNames").EnumerateArray().Select(e => e.GetString()));
        // No validation data: JSON null, not a number.
        Assert.Equal(JsonValueKind.Null, root.GetProperty("epochs")[0].GetProperty("validationLoss").ValueKind);
    }

    [Fact]
    public void HistoryFilesCallback_WritesTheSameFilesAsSaveWhileTraining()
    {
        var history = Train(new HistoryFilesCallback(_directory));
        var afterwards = Path.Combine(_directory, "saved");

        history.Save(afterwards);

        foreach (var file in new[] { "history.csv", "epochs.csv" })
        {
            var live = File.ReadAllLines(Path.Combine(_directory, file));
            var saved = File.ReadAllLines(Path.Combine(afterwards, file));
            Assert.Equal(saved, live);
        }
        Assert.Equal(File.ReadAllText(Path.Combine(afterwards, "history.json")), File.ReadAllText(Path.Combine(_directory, "history.json")));
    }

    [Fact]
    public void HistoryFilesCallback_TrainingThrows_LeavesTheStepsSoFarAndTheJson()
    {
        var settings = RegressionSettings();
        settings.Callbacks.Add(new HistoryFilesCallback(_directory));
        settings.Callbacks.Add(new FailAtStep(6));
        settings.StepRecordBlockSize = 2;
        using var model = new LastStepLinear(2, 1);

        Assert.Throws<InvalidOperationException>(() =>
            SequenceTrainingLoop.Run(model, SequenceTask.Regression, RandomRegression(2, batchCount: 4, batchSize: 4, time: 2, seed: 12), null, settings));

        Assert.Equal(1 + 5, File.ReadAllLines(Path.Combine(_directory, "history.csv")).Length); // steps 1–5: the pending one is flushed before OnException
        using var json = JsonDocument.Parse(File.ReadAllText(Path.Combine(_directory, "history.json")));
        Assert.Equal(1, json.RootElement.GetProperty("epochs").GetArrayLength());
    }

    private sealed class FailAtStep(long step) : TrainingCallback
    {
        public override void OnBatchStart(TrainingState state, ClipTrainer.Data.SequenceBatch batch)
        {
            if (state.GlobalStep + 1 == step) throw new InvalidOperationException("stop here");
        }
    }
}
