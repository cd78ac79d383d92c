using ClipTrainer.Clipping;
using ClipTrainer.Data;
using ClipTrainer.Modeling;
using ClipTrainer.Training;
using Microsoft.ML;

namespace ClipTrainer.Samples.Tasks;

/// <summary>
/// The exploding regime: the adding problem (<see cref="AddingProblemTask"/>) learned by a 3-layer vanilla (tanh) RNN
/// with plain SGD at learning rate 1, where unclipped gradients explode (Pascanu et al. 2013, §3: clipping is what
/// keeps such a run trainable). Non-finite gradients skip the step, so a diverging run is counted, not thrown.
/// </summary>
internal static class ExplodingRegimeTask
{
    public static readonly ComparisonTask Task = new(
        "exploding",
        "exploding regime: adding problem, 3-layer tanh RNN 32, SGD lr 1 without momentum (Pascanu et al. 2013, §3)",
        SequenceTask.Regression,
        DefaultLength: 30,
        MakeData: (mlContext, request) => new TaskData(
            TaskDataViews.Load(mlContext, AddingProblemTask.Rows(AddingProblemTask.TrainingRows / 2, request.Length, request.Seed), request.Length * AddingProblemTask.Channels),
            TaskDataViews.Load(mlContext, AddingProblemTask.Rows(AddingProblemTask.TestRows, request.Length, request.Seed + 1), request.Length * AddingProblemTask.Channels)),
        BaseOptions: request => Options(request.Length),
        Solved: new SolvedCriterion("test MSE ≤ 0.05 (baseline 0.167)", e => e.ValidationLoss <= 0.05));

    public static SequenceTrainerOptions Options(int length) => new()
    {
        InputSize = AddingProblemTask.Channels,
        SequenceLength = length,
        CellType = RecurrentCellType.Rnn,
        HiddenSize = 32,
        NumberOfLayers = 3,
        Optimizer = OptimizerKind.Sgd,
        Momentum = 0,
        LearningRate = 1,
        Schedule = LearningRateSchedule.Constant,
        BatchSize = 50,
        MaximumNumberOfEpochs = 2, // the default run is a short one (minutes); the measured runs pass --epochs
        NumberOfThreads = 1,
        Clipping = new GradientClippingOptions { NonFinitePolicy = NonFiniteGradientPolicy.SkipStep },
    };
}
