using ClipTrainer.Data;
using ClipTrainer.Training;
using TorchSharp;
using Xunit;
using static ClipTrainer.Tests.Training.EngineTestKit;

namespace ClipTrainer.Tests.Training;

/// <summary>The rule's decisions, and training and scoring applying it (serial: they change libtorch's process-wide count).</summary>
[Collection(TorchSharpTrainingCollection.Name)]
public class ThreadCountRuleTests
{
    [Theory]
    [InlineData(2_700L, 32, 2, 1)]              // the seed-sized LSTM 20: 86k per pass
    [InlineData(72_325L, 32, 2, 1)]             // LSTM 128 over 10 features, batch 32: 2.3M
    [InlineData(275_717L, 128, 2, 1)]           // LSTM 256, batch 128: 35.3M, the largest measured
    [InlineData(524_287L, 128, 2, 1)]           // 2^26 − 128: just below the limit
    [InlineData(1_000_000_000L, 128, 1, 1)]     // one core: one thread whatever the size
    public void Choose_Unset_OneThreadBelowTheLimitOrOnOneCore(long parameters, int rows, int cores, int expected)
    {
        Assert.Equal(expected, ThreadCountRule.Choose(null, parameters, rows, cores));
    }

    [Theory]
    [InlineData(524_288L, 128, 2)]              // 2^26 exactly: at the limit, libtorch's setting
    [InlineData(3_000_000L, 256, 16)]           // 768M on 16 cores
    public void Choose_Unset_AtOrAboveTheLimit_LeavesLibTorchsSetting(long parameters, int rows, int cores)
    {
        Assert.Null(ThreadCountRule.Choose(null, parameters, rows, cores));
    }

    [Theory]
    [InlineData(1, 1_000_000_000L)]
    [InlineData(4, 10L)]
    public void Choose_Set_TheUsersCountWins(int threads, long parameters)
    {
        Assert.Equal(threads, ThreadCountRule.Choose(threads, parameters, 128, 2));
    }

    [Fact]
    public void Run_NumberOfThreadsUnset_SmallModelTrainsOnOneThreadAndRestoresTheCount()
    {
        var before = torch.get_num_threads();
        torch.set_num_threads(2);
        try
        {
            using var model = new LastStepLinear(2, 1); // 3 parameters
            var probe = new ThreadProbe();
            var settings = new TrainingSettings { MaximumNumberOfEpochs = 1, Schedule = LearningRateSchedule.Constant };
            settings.Callbacks.Add(probe);

            SequenceTrainingLoop.Run(model, SequenceTask.Regression, RandomRegression(2, batchCount: 2, batchSize: 4, time: 2, seed: 1), null, settings);

            Assert.Equal(new[] { 1, 1 }, probe.Seen);
            Assert.Equal(2, torch.get_num_threads());
        }
        finally
        {
            torch.set_num_threads(before);
        }
    }

    private sealed class ThreadProbe : TrainingCallback
    {
        public List<int> Seen { get; } = [];

        public override void OnBatchStart(TrainingState state, SequenceBatch batch) => Seen.Add(torch.get_num_threads());
    }

    [Fact]
    public void Score_SmallModel_ForwardRunsOnOneThreadAndRestoresTheCount()
    {
        var before = torch.get_num_threads();
        torch.set_num_threads(2);
        try
        {
            var network = new ThreadRecordingModule();
            var outputs = new ClipTrainer.Scoring.OutputColumns(SequenceTask.Regression, "Score", "PredictedLabel", 1, null);
            var scorer = new ClipTrainer.Scoring.SequenceScorer(network, outputs, inputSize: 2, torch.CPU);
            var rows = new[] { new Microsoft.ML.Data.VBuffer<float>(4, [1f, 2f, 3f, 4f]) };

            var scores = scorer.Score(rows);

            Assert.Equal(new[] { 1 }, network.Seen);
            Assert.Equal(2, torch.get_num_threads());
            Assert.Equal(3f + 4f + 0.5f, Assert.Single(scores)); // the module's output: last step summed + 0.5
            scorer.Release();
        }
        finally
        {
            torch.set_num_threads(before);
        }
    }

    private sealed class ThreadRecordingModule : torch.nn.Module<torch.Tensor, torch.Tensor?, torch.Tensor>
    {
        private readonly TorchSharp.Modules.Parameter bias = new(torch.tensor(new[] { 0.5f }));

        public ThreadRecordingModule() : base(nameof(ThreadRecordingModule)) => RegisterComponents();

        public List<int> Seen { get; } = [];

        public override torch.Tensor forward(torch.Tensor input, torch.Tensor? lengths)
        {
            Seen.Add(torch.get_num_threads());
            return input.select(1, -1).sum(1, keepdim: true) + bias;
        }
    }
}
