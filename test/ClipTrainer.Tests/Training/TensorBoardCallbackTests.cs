using System.Text.RegularExpressions;
using ClipTrainer.Clipping;
using ClipTrainer.Data;
using ClipTrainer.Modeling;
using ClipTrainer.Training;
using Tensorboard;
using Xunit;
using static ClipTrainer.Tests.SequenceTestData;
using static ClipTrainer.Tests.Training.TensorBoardEventReader;

namespace ClipTrainer.Tests.Training;

/// <summary>
/// The TensorBoard sink: a tiny model is trained with it, and the event file is read back with the test's own reader
/// (<see cref="TensorBoardEventReader"/>) and compared with the history the loop returned: tags, steps, values (as
/// float32, TensorBoard's scalar type), wall times, histograms, the settings text, and the file's life cycle.
/// </summary>
[Collection(TorchSharpTrainingCollection.Name)]
public sealed class TensorBoardCallbackTests : IDisposable
{
    private const int StepsPerEpoch = 5; // 50 rows in batches of 10
    private readonly string _directory = Path.Combine(Path.GetTempPath(), "cliptrainer-tb-" + Guid.NewGuid().ToString("N"));

    public void Dispose()
    {
        if (Directory.Exists(_directory)) Directory.Delete(_directory, recursive: true);
    }

    private static SequenceDataset RegressionData(int count, int seed)
    {
        var rows = Regression(count, seed);
        return SequenceDataset.CreateRegression(InputSize, rows.Select(r => r.Features).ToList(), rows.Select(r => r.Label).ToList());
    }

    private static TrainingSettings Settings(TrainingCallback callback, GradientNormDetail norms = GradientNormDetail.Layer,
        double normType = 2, int epochs = 3)
    {
        var settings = new TrainingSettings
        {
            MaximumNumberOfEpochs = epochs,
            BatchSize = 10,
            LearningRate = 0.02,
            // Blocks of 3 split epochs of 5 steps, so records reach the sink both from full blocks and from epoch ends.
            StepRecordBlockSize = 3,
            RecordGradientNorms = norms,
            Clipping = new GradientClippingOptions { Threshold = 0.3, NormType = normType },
        };
        settings.Callbacks.Add(callback);
        return settings;
    }

    private static TrainingHistory Train(TrainingSettings settings, bool validate = false)
    {
        using var model = SequenceModel.Create(new SequenceModelOptions
        {
            CellType = RecurrentCellType.Gru, InputSize = InputSize, HiddenSize = 8, OutputSize = 1,
        }, seed: 7);
        return SequenceTrainingLoop.Run(model, RegressionData(StepsPerEpoch * 10, seed: 1), validate ? RegressionData(20, seed: 2) : null, settings);
    }

    private static Dictionary<string, float> Scalars(Event e) =>
        e.Summary.Value.Where(v => v.ValueCase == Summary.Types.Value.ValueOneofCase.SimpleValue).ToDictionary(v => v.Tag, v => v.SimpleValue);

    private static List<Event> StepEvents(IEnumerable<Event> events) =>
        events.Where(e => e.Summary is not null && Scalars(e).ContainsKey("train/loss")).ToList();

    private static List<Event> EpochEvents(IEnumerable<Event> events) =>
        events.Where(e => e.Summary is not null && Scalars(e).ContainsKey("epoch")).ToList();

    [Fact]
    public void Crc32C_OfTheStandardCheckInput_IsTheStandardCheckValue()
    {
        Assert.Equal(0xE3069283u, Crc32C("123456789"u8));
    }

    [Fact]
    public void ReadEvents_OfAFileFromTorchSharpsSummaryWriter_VerifiesItsCrcsAndParsesIt()
    {
        // A second, independent writer (TorchSharp's, with its native CRC32C): the reader checks the format, not one writer.
        var writer = TorchSharp.torch.utils.tensorboard.SummaryWriter(_directory);
        writer.add_scalar("loss", 0.25f, 3);
        writer.add_text("note", "hello", 4);

        var events = ReadEvents(Assert.Single(Directory.GetFiles(_directory)));

        Assert.Equal("brain.Event:2", events[0].FileVersion);
        Assert.Equal((3L, "loss", 0.25f), (events[1].Step, events[1].Summary.Value[0].Tag, events[1].Summary.Value[0].SimpleValue));
        Assert.Equal("hello", events[2].Summary.Value[0].Tensor.StringVal[0].ToStringUtf8());
    }

    [Theory]
    [InlineData(null)]
    [InlineData("")]
    [InlineData("  ")]
    public void Constructor_NullOrBlankDirectory_ThrowsArgumentException(string? directory)
    {
        var exception = Assert.ThrowsAny<ArgumentException>(() => new TensorBoardCallback(directory!));

        Assert.Equal("directory", exception.ParamName);
    }

    [Fact]
    public void OnStepRecords_WritesEveryRecordsScalarsAtItsGlobalStep()
    {
        var callback = new TensorBoardCallback(_directory);
        var before = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds() / 1000.0;
        var history = Train(Settings(callback));
        var after = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds() / 1000.0;

        var events = StepEvents(ReadEvents(callback.EventFilePath!));

        Assert.Equal(3 * StepsPerEpoch, history.Steps.Count);
        Assert.Equal(history.Steps.Select(s => s.Step), events.Select(e => e.Step));
        Assert.Equal(["GlobalNorm"], history.StageNames);
        Assert.Equal(["recurrent[l0]", "head"], history.NormGroupNames);
        Assert.Contains(history.Steps, s => s.Clipped);
        Assert.Contains(history.Steps, s => !s.Clipped);
        foreach (var (step, e) in history.Steps.Zip(events))
        {
            var expected = new Dictionary<string, float>
            {
                ["train/loss"] = (float)step.Loss,
                ["train/learning_rate"] = (float)step.LearningRate,
                ["grad_2.0_norm_total"] = (float)step.PreClipNorm,
                ["grad_2.0_norm_total_post_clip"] = (float)step.PostClipNorm,
                ["clip/clipped"] = step.Clipped ? 1 : 0,
                ["clip/skipped"] = 0,
                ["clip/coefficient/GlobalNorm"] = (float)step.StageCoefficients[0],
            };
            for (var g = 0; g < history.NormGroupNames.Count; g++) expected["grad_2.0_norm/" + history.NormGroupNames[g]] = (float)step.GroupNorms[g];
            Assert.Equal(expected.OrderBy(p => p.Key), Scalars(e).OrderBy(p => p.Key));
        }

        // Unix seconds with their fraction (TorchSharp's SummaryWriter writes whole seconds), in step order.
        Assert.All(events, e => Assert.InRange(e.WallTime, before - 1, after + 1));
        Assert.Equal(events.Select(e => e.WallTime).Order(), events.Select(e => e.WallTime));
        Assert.Contains(events, e => e.WallTime != Math.Floor(e.WallTime));
    }

    [Fact]
    public void OnEpochEnd_WritesEpochScalarsAtTheGlobalStepOfTheEpochsLastStep()
    {
        var callback = new TensorBoardCallback(_directory);
        var history = Train(Settings(callback), validate: true);

        var events = EpochEvents(ReadEvents(callback.EventFilePath!));

        Assert.Equal([5L, 10L, 15L], events.Select(e => e.Step));
        foreach (var (epoch, e) in history.Epochs.Zip(events))
        {
            var scalars = Scalars(e);
            Assert.Equal((float)epoch.Epoch, scalars["epoch"]);
            Assert.Equal((float)epoch.TrainingLoss, scalars["epoch/training_loss"]);
            Assert.Equal((float)epoch.ValidationLoss!.Value, scalars["epoch/validation_loss"]);
            Assert.Equal((float)epoch.ValidationMetric!.Value, scalars["epoch/validation_rsquared"]);
            Assert.Equal((float)epoch.MeanGradientNorm, scalars["epoch/grad_2.0_norm_total_mean"]);
            Assert.Equal((float)epoch.MedianGradientNorm, scalars["epoch/grad_2.0_norm_total_median"]);
            Assert.Equal((float)epoch.GradientNormPercentile90, scalars["epoch/grad_2.0_norm_total_p90"]);
            Assert.Equal((float)epoch.GradientNormPercentile99, scalars["epoch/grad_2.0_norm_total_p99"]);
            Assert.Equal((float)epoch.MaximumGradientNorm, scalars["epoch/grad_2.0_norm_total_max"]);
            Assert.Equal((float)epoch.MeanPostClipGradientNorm, scalars["epoch/grad_2.0_norm_total_post_clip_mean"]);
            Assert.Equal((float)epoch.ClippedFraction, scalars["epoch/clipped_fraction"]);
            Assert.Equal((float)epoch.SkippedSteps, scalars["epoch/skipped_steps"]);
            Assert.Equal(12, scalars.Count);
        }
    }

    [Fact]
    public void OnEpochEnd_WritesHistogramsOfTheEpochsNormsPerLayerAndInTotal()
    {
        var callback = new TensorBoardCallback(_directory);
        var history = Train(Settings(callback));

        var events = EpochEvents(ReadEvents(callback.EventFilePath!));

        foreach (var (epoch, e) in history.Epochs.Zip(events))
        {
            var steps = history.Steps.Where(s => s.Epoch == epoch.Epoch).ToList();
            var series = history.NormGroupNames.Select((name, g) => ("histogram/grad_2.0_norm/" + name, steps.Select(s => s.GroupNorms[g]).ToList()))
                .Append(("histogram/grad_2.0_norm_total", steps.Select(s => s.PreClipNorm).ToList()));
            var histograms = e.Summary.Value.Where(v => v.Histo is not null).ToDictionary(v => v.Tag, v => v.Histo);
            Assert.Equal(history.NormGroupNames.Count + 1, histograms.Count);
            foreach (var (tag, values) in series)
            {
                var histogram = histograms[tag];
                Assert.Equal((double)StepsPerEpoch, histogram.Num);
                Assert.Equal(histogram.Num, histogram.Bucket.Sum());
                Assert.Equal(values.Min(), histogram.Min);
                Assert.Equal(values.Max(), histogram.Max);
                Assert.Equal(values.Sum(), histogram.Sum, 1e-12);
                Assert.Equal(values.Sum(v => v * v), histogram.SumSquares, 1e-12);
                Assert.Equal(histogram.Bucket.Count, histogram.BucketLimit.Count);
                Assert.Equal(histogram.Max, histogram.BucketLimit[^1]);
                // Bucket i holds the values below limit i that no earlier bucket holds.
                for (var i = 0; i < histogram.Bucket.Count - 1; i++)
                    Assert.Equal(values.Count(v => v < histogram.BucketLimit[i]), histogram.Bucket.Take(i + 1).Sum());
            }
        }
    }

    [Fact]
    public void OnStepRecords_SkippedSteps_KeepTheirNonFiniteScalarsAndStayOutOfTheHistograms()
    {
        var rows = Regression(StepsPerEpoch * 10, seed: 1);
        rows[3].Features[0] = float.NaN;  // batch 1: the run's first step is skipped, before any stage name is known
        rows[32].Features[0] = float.NaN; // batch 4
        var data = SequenceDataset.CreateRegression(InputSize, rows.Select(r => r.Features).ToList(), rows.Select(r => r.Label).ToList());
        var callback = new TensorBoardCallback(_directory);
        var settings = Settings(callback, epochs: 2);
        settings.Shuffle = false;
        settings.Clipping.NonFinitePolicy = NonFiniteGradientPolicy.SkipStep;
        using var model = SequenceModel.Create(new SequenceModelOptions
        {
            CellType = RecurrentCellType.Gru, InputSize = InputSize, HiddenSize = 8, OutputSize = 1,
        }, seed: 7);

        var history = SequenceTrainingLoop.Run(model, data, null, settings);
        var events = ReadEvents(callback.EventFilePath!);

        Assert.Equal([1L, 4L, 6L, 9L], history.Steps.Where(s => s.Skipped).Select(s => s.Step));
        var steps = StepEvents(events);
        foreach (var (step, e) in history.Steps.Zip(steps))
        {
            var scalars = Scalars(e);
            Assert.Equal(step.Skipped ? 1f : 0f, scalars["clip/skipped"]);
            Assert.Equal((float)step.PreClipNorm, scalars["grad_2.0_norm_total"]);
            Assert.Equal(step.Step > 1, scalars.ContainsKey("clip/coefficient/GlobalNorm"));
        }
        Assert.False(float.IsFinite(Scalars(steps[0])["grad_2.0_norm_total"]));

        foreach (var (epoch, e) in history.Epochs.Zip(EpochEvents(events)))
        {
            var total = e.Summary.Value.Single(v => v.Tag == "histogram/grad_2.0_norm_total").Histo;
            var finite = history.Steps.Where(s => s.Epoch == epoch.Epoch && double.IsFinite(s.PreClipNorm)).Select(s => s.PreClipNorm).ToList();
            Assert.Equal((double)StepsPerEpoch - 2, total.Num);
            Assert.Equal(finite.Count, total.Num);
            Assert.Equal(total.Num, total.Bucket.Sum());
            Assert.Equal(finite.Max(), total.Max);
        }
    }

    [Fact]
    public void OnTrainingStart_WritesTheFileVersionFirstAndTheSettingsAsTextAtStepZero()
    {
        var callback = new TensorBoardCallback(_directory);
        var before = DateTimeOffset.UtcNow.ToUnixTimeSeconds();
        Train(Settings(callback, epochs: 1));

        var events = ReadEvents(callback.EventFilePath!);

        Assert.Equal("brain.Event:2", events[0].FileVersion);
        Assert.InRange(events[0].WallTime, before - 1, before + 600);
        var text = Assert.Single(events[1].Summary.Value);
        Assert.Equal(0, events[1].Step);
        Assert.Equal("settings", text.Tag);
        Assert.Equal("text", text.Metadata.PluginData.PluginName);
        Assert.Equal(DataType.DtString, text.Tensor.Dtype);
        var table = text.Tensor.StringVal.Single().ToStringUtf8();
        Assert.Contains("| LearningRate | 0.02 |", table);
        Assert.Contains("| BatchSize | 10 |", table);
        Assert.Contains("| Clipping.Threshold | 0.3 |", table);
        Assert.Contains("| RecordGradientNorms | Layer |", table);
        Assert.Contains("| (steps per epoch) | 5 |", table);

        var name = Regex.Match(Path.GetFileName(callback.EventFilePath!), @"^events\.out\.tfevents\.(\d{10})\..+\.(\d+)\.(\d+)$");
        Assert.True(name.Success, callback.EventFilePath);
        Assert.InRange(long.Parse(name.Groups[1].Value), before - 1, before + 600);
        Assert.Equal(Environment.ProcessId.ToString(), name.Groups[2].Value);
        Assert.Equal(_directory, Path.GetDirectoryName(callback.EventFilePath));
    }

    [Theory]
    [InlineData(1.0, "grad_1.0_norm")]
    [InlineData(double.PositiveInfinity, "grad_inf_norm")]
    public void OnStepRecords_NamesNormTagsAfterTheClippingsNormTypeAndParameters(double normType, string prefix)
    {
        var callback = new TensorBoardCallback(_directory);
        var history = Train(Settings(callback, GradientNormDetail.Parameter, normType, epochs: 1));

        var events = ReadEvents(callback.EventFilePath!);

        var first = Scalars(StepEvents(events)[0]);
        Assert.Equal((float)history.Steps[0].PreClipNorm, first[prefix + "_total"]);
        Assert.Contains("recurrent.weight_ih_l0", history.NormGroupNames);
        for (var g = 0; g < history.NormGroupNames.Count; g++)
            Assert.Equal((float)history.Steps[0].GroupNorms[g], first[prefix + "/" + history.NormGroupNames[g]]);
        Assert.Contains(EpochEvents(events)[0].Summary.Value, v => v.Tag == $"histogram/{prefix}/recurrent.weight_ih_l0" && v.Histo is not null);
    }

    [Fact]
    public void OnTrainingEnd_ClosesTheFile_AndTheNextRunWritesANewOne()
    {
        var callback = new TensorBoardCallback(_directory);
        var openDuringTraining = new List<bool>();
        var settings = Settings(callback, GradientNormDetail.None, epochs: 2);
        settings.Callbacks.Add(new Probe(onEpochEnd: () => openDuringTraining.Add(IsOpenInThisProcess(callback.EventFilePath!))));

        var firstHistory = Train(settings);
        var first = callback.EventFilePath!;
        var firstBytes = File.ReadAllBytes(first);
        var secondHistory = Train(settings);
        var second = callback.EventFilePath!;

        Assert.Equal([true, true, true, true], openDuringTraining);
        Assert.NotEqual(first, second);
        Assert.False(IsOpenInThisProcess(first));
        Assert.False(IsOpenInThisProcess(second));
        Assert.Equal(firstBytes, File.ReadAllBytes(first));
        foreach (var (path, history) in new[] { (first, firstHistory), (second, secondHistory) })
        {
            var events = ReadEvents(path);
            Assert.Equal(history.Steps.Select(s => (float)s.Loss), StepEvents(events).Select(e => Scalars(e)["train/loss"]));
            Assert.DoesNotContain(events.Where(e => e.Summary is not null).SelectMany(e => e.Summary.Value), v => v.Tag.StartsWith("grad_2.0_norm/"));
            Assert.Equal("brain.Event:2", events[0].FileVersion);
        }
    }

    [Fact]
    public void OnException_ClosesTheFileWithEverythingDeliveredBeforeTheError()
    {
        var callback = new TensorBoardCallback(_directory);
        var settings = Settings(callback);
        var epochs = 0;
        settings.Callbacks.Add(new Probe(onEpochEnd: () =>
        {
            if (++epochs == 2) throw new InvalidOperationException("stop here");
        }));

        Assert.Throws<InvalidOperationException>(() => Train(settings));

        Assert.False(IsOpenInThisProcess(callback.EventFilePath!));
        var events = ReadEvents(callback.EventFilePath!);
        Assert.Equal(Enumerable.Range(1, 2 * StepsPerEpoch).Select(s => (long)s), StepEvents(events).Select(e => e.Step));
        Assert.Equal([5L, 10L], EpochEvents(events).Select(e => e.Step));
    }

    private sealed class Probe(Action onEpochEnd) : TrainingCallback
    {
        public override void OnEpochEnd(TrainingState state, EpochRecord record) => onEpochEnd();
    }
}
