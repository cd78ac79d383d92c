using ClipTrainer.Data;
using static TorchSharp.torch;

namespace ClipTrainer.Training;

/// <summary>The loss and the validation metric of a <see cref="SequenceTask"/>.</summary>
internal static class TaskObjective
{
    /// <summary>The mean loss of a batch: cross-entropy on logits, sigmoid cross-entropy on one logit, or squared error.</summary>
    public static Tensor Loss(SequenceTask task, Tensor output, Tensor labels) => task switch
    {
        SequenceTask.MulticlassClassification => nn.functional.cross_entropy(output, labels),
        SequenceTask.BinaryClassification => nn.functional.binary_cross_entropy_with_logits(output.squeeze(-1), labels),
        _ => nn.functional.mse_loss(output.squeeze(-1), labels),
    };

    public static string MetricName(SequenceTask task) => task == SequenceTask.Regression ? "RSquared" : "Accuracy";

    /// <summary>Per-row values the metric needs: the predicted class (as a float), the 0/1 decision, or the output.</summary>
    public static Tensor Predictions(SequenceTask task, Tensor output) => task switch
    {
        SequenceTask.MulticlassClassification => output.argmax(-1).to(ScalarType.Float32),
        SequenceTask.BinaryClassification => output.squeeze(-1).gt(0).to(ScalarType.Float32),
        _ => output.squeeze(-1),
    };

    /// <summary>Accuracy (classification) or R² (regression) of host-side predictions against labels.</summary>
    public static double Metric(SequenceTask task, IReadOnlyList<float> predictions, IReadOnlyList<float> labels)
    {
        int n = predictions.Count;
        if (n == 0) return double.NaN;
        if (task != SequenceTask.Regression)
        {
            int correct = 0;
            for (int i = 0; i < n; i++) if (predictions[i] == labels[i]) correct++;
            return (double)correct / n;
        }
        double mean = labels.Average(v => (double)v);
        double residual = 0, total = 0;
        for (int i = 0; i < n; i++)
        {
            residual += Math.Pow(labels[i] - predictions[i], 2);
            total += Math.Pow(labels[i] - mean, 2);
        }
        return total == 0 ? double.NaN : 1 - residual / total;
    }
}
