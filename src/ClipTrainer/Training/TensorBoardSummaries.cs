using System.Globalization;
using System.Reflection;
using System.Text;
using Google.Protobuf;
using Tensorboard;

namespace ClipTrainer.Training;

/// <summary>
/// The summary values <see cref="TensorBoardCallback"/> writes, in the shapes TensorBoard's plugins read: a scalar as
/// <c>simple_value</c> (float32), a histogram as <c>HistogramProto</c>, a text as a DT_STRING tensor of the text plugin.
/// </summary>
internal static class TensorBoardSummaries
{
    /// <summary>Equal-width buckets per histogram; TensorBoard re-buckets for display, so more would add bytes, not detail.</summary>
    public const int HistogramBuckets = 30;

    public static Summary.Types.Value Scalar(string tag, double value) => new() { Tag = tag, SimpleValue = (float)value };

    /// <summary>
    /// A histogram of the finite <paramref name="values"/> in <see cref="HistogramBuckets"/> equal-width buckets from
    /// their minimum to their maximum (one bucket when all are equal); null when none is finite.
    /// </summary>
    /// <remarks>
    /// Bucket i counts the values in [min + i·w, min + (i+1)·w), the last one also the maximum; <c>bucket_limit</c>
    /// holds the right edges, the last equal to the maximum, which is how TensorBoard's histogram plugin reads them
    /// (left edge of bucket 0 = <c>min</c>, right edge of the last = <c>max</c>).
    /// </remarks>
    public static Summary.Types.Value? Histogram(string tag, IEnumerable<double> values)
    {
        var finite = values.Where(double.IsFinite).ToArray();
        if (finite.Length == 0) return null;
        double min = finite.Min(), max = finite.Max();
        var buckets = max > min ? HistogramBuckets : 1;
        var width = (max - min) / buckets;
        var counts = new double[buckets];
        foreach (var value in finite)
            counts[width > 0 ? Math.Min((int)((value - min) / width), buckets - 1) : 0]++;

        var histogram = new HistogramProto
        {
            Min = min,
            Max = max,
            Num = finite.Length,
            Sum = finite.Sum(),
            SumSquares = finite.Sum(v => v * v),
        };
        for (var i = 0; i < buckets; i++) histogram.BucketLimit.Add(i == buckets - 1 ? max : min + (i + 1) * width);
        histogram.Bucket.Add(counts);
        return new Summary.Types.Value { Tag = tag, Histo = histogram };
    }

    /// <summary>A text (Markdown) for TensorBoard's text plugin.</summary>
    public static Summary.Types.Value Text(string tag, string markdown) => new()
    {
        Tag = tag,
        Metadata = new SummaryMetadata { PluginData = new SummaryMetadata.Types.PluginData { PluginName = "text" } },
        Tensor = new TensorProto
        {
            Dtype = DataType.DtString,
            TensorShape = new TensorShapeProto { Dim = { new TensorShapeProto.Types.Dim { Size = 1 } } },
            StringVal = { ByteString.CopyFromUtf8(markdown) },
        },
    };

    /// <summary>
    /// The run's settings as a Markdown table: every public setting of <see cref="TrainingSettings"/> and of its
    /// clipping options with a plain value (numbers, flags, enums), read by reflection so that a new setting appears
    /// without editing this file; callbacks and progress sinks are left out.
    /// </summary>
    public static string SettingsTable(TrainingState state)
    {
        var text = new StringBuilder("| setting | value |\n|---|---|\n");
        void Rows(object settings, string prefix)
        {
            foreach (var property in settings.GetType().GetProperties(BindingFlags.Public | BindingFlags.Instance))
            {
                var type = Nullable.GetUnderlyingType(property.PropertyType) ?? property.PropertyType;
                if (type.IsPrimitive || type.IsEnum || type == typeof(string))
                    text.Append(CultureInfo.InvariantCulture, $"| {prefix}{property.Name} | {Format(property.GetValue(settings))} |\n");
            }
        }

        Rows(state.Settings, "");
        Rows(state.Settings.Clipping, nameof(TrainingSettings.Clipping) + ".");
        text.Append(CultureInfo.InvariantCulture,
            $"| (model) | {state.Parameters.Sum(p => p.Parameter.numel()):N0} parameters in {state.Parameters.Count} tensors |\n");
        text.Append(CultureInfo.InvariantCulture, $"| (steps per epoch) | {Format(state.StepsPerEpoch)} |\n");
        return text.ToString();
    }

    /// <summary>p as Lightning prints it in its tags (Python's <c>str(float(p))</c>): 2 → "2.0", 1.5 → "1.5", ∞ → "inf".</summary>
    public static string NormTypeName(double normType) =>
        double.IsPositiveInfinity(normType) ? "inf"
        : normType == Math.Floor(normType) ? normType.ToString("F1", CultureInfo.InvariantCulture)
        : normType.ToString("R", CultureInfo.InvariantCulture);

    private static string Format(object? value) => value switch
    {
        null => "(none)",
        double d => d.ToString("R", CultureInfo.InvariantCulture),
        IFormattable f => f.ToString(null, CultureInfo.InvariantCulture),
        _ => value.ToString() ?? "",
    };
}
