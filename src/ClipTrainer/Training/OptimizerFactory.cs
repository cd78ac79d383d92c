using TorchSharp;
using TorchSharp.Modules;

namespace ClipTrainer.Training;

/// <summary>Builds the TorchSharp optimizer that <see cref="TrainingSettings.Optimizer"/> names.</summary>
internal static class OptimizerFactory
{
    public static torch.optim.Optimizer Create(TrainingSettings settings, IReadOnlyList<Parameter> parameters) => settings.Optimizer switch
    {
        OptimizerKind.Adam => torch.optim.Adam(parameters, settings.LearningRate, weight_decay: settings.WeightDecay),
        OptimizerKind.AdamW => torch.optim.AdamW(parameters, settings.LearningRate, weight_decay: settings.WeightDecay),
        OptimizerKind.Sgd => torch.optim.SGD(parameters, settings.LearningRate, momentum: settings.Momentum, weight_decay: settings.WeightDecay),
        OptimizerKind.RmsProp => torch.optim.RMSProp(parameters, settings.LearningRate, momentum: settings.Momentum, weight_decay: settings.WeightDecay),
        _ => throw new ArgumentOutOfRangeException(nameof(settings), settings.Optimizer, "Unknown optimizer."),
    };

    public static void SetLearningRate(torch.optim.Optimizer optimizer, double learningRate)
    {
        foreach (var group in optimizer.ParamGroups)
            group.LearningRate = learningRate;
    }
}
