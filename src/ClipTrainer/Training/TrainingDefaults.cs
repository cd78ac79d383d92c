namespace ClipTrainer.Training;

/// <summary>The defaults of <see cref="TrainingSettings"/>, in one place, shared by the ML.NET trainer's options.</summary>
public static class TrainingDefaults
{
    /// <summary>Default optimizer: Adam, the usual choice for recurrent networks.</summary>
    public const OptimizerKind Optimizer = OptimizerKind.Adam;

    /// <summary>Default base learning rate.</summary>
    public const double LearningRate = 0.01;

    /// <summary>Default momentum for SGD and RMSprop.</summary>
    public const double Momentum = 0.9;

    /// <summary>Default number of epochs (ML.NET's TorchSharp trainers use 100; sequence models here converge sooner).</summary>
    public const int MaximumNumberOfEpochs = 10;

    /// <summary>Default number of sequences per optimizer step (ML.NET's TorchSharp default).</summary>
    public const int BatchSize = 32;

    /// <summary>
    /// Default learning-rate schedule: ML.NET's one-cycle schedule, so that <see cref="StartLearningRateRatio"/> and
    /// <see cref="FinalLearningRateRatio"/> mean by default what they mean in ML.NET's own TorchSharp trainers.
    /// </summary>
    public const LearningRateSchedule Schedule = LearningRateSchedule.OneCycle;

    /// <summary>Default fraction of the steps spent warming up under <see cref="LearningRateSchedule.OneCycle"/> and <see cref="LearningRateSchedule.Cosine"/>.</summary>
    public const double WarmupFraction = 0.1;

    /// <summary>Default start ratio of the scheduled learning rate (ML.NET's TorchSharp default).</summary>
    public const double StartLearningRateRatio = 0.1;

    /// <summary>Default final ratio of the scheduled learning rate (ML.NET's TorchSharp default).</summary>
    public const double FinalLearningRateRatio = 0.9;

    /// <summary>Default for reshuffling the training rows before every epoch.</summary>
    public const bool Shuffle = true;

    /// <summary>Default device.</summary>
    public const ComputeDevice Device = ComputeDevice.Cpu;

    /// <summary>Default number of steps between two step-progress reports.</summary>
    public const int StepReportInterval = 10;

    /// <summary>Default seed of weights, dropout and shuffling.</summary>
    public const int Seed = 1;

    /// <summary>Default number of per-step records kept on the device between two host reads.</summary>
    public const int StepRecordBlockSize = 256;
}
