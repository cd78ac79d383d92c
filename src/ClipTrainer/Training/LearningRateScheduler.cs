namespace ClipTrainer.Training;

/// <summary>The learning-rate multiplier of a <see cref="LearningRateSchedule"/> at a given step.</summary>
internal static class LearningRateScheduler
{
    /// <summary>
    /// Returns the factor that multiplies the base learning rate at 0-based <paramref name="step"/> of
    /// <paramref name="totalSteps"/>: 1 for <see cref="LearningRateSchedule.Constant"/>; otherwise a linear warm-up from
    /// <c>start</c> to 1 over <c>warmupFraction × totalSteps</c> steps, then a linear or half-cosine decay to <c>final</c>
    /// at the last step.
    /// </summary>
    public static double Factor(TrainingSettings settings, long step, long totalSteps)
    {
        if (settings.Schedule == LearningRateSchedule.Constant || totalSteps <= 1) return 1.0;
        long warmupSteps = (long)Math.Round(settings.WarmupFraction * totalSteps);
        if (step < warmupSteps)
            return settings.StartLearningRateRatio + (1 - settings.StartLearningRateRatio) * step / Math.Max(1, warmupSteps);
        double progress = (double)(step - warmupSteps) / Math.Max(1, totalSteps - 1 - warmupSteps);
        progress = Math.Clamp(progress, 0, 1);
        double shape = settings.Schedule == LearningRateSchedule.Cosine ? (1 + Math.Cos(Math.PI * progress)) / 2 : 1 - progress;
        return settings.FinalLearningRateRatio + (1 - settings.FinalLearningRateRatio) * shape;
    }
}
