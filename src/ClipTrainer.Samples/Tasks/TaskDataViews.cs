using Microsoft.ML;
using Microsoft.ML.Data;

namespace ClipTrainer.Samples.Tasks;

/// <summary>Loads generated rows whose sequence length is chosen at run time as a known-size feature vector.</summary>
internal static class TaskDataViews
{
    /// <summary>
    /// Loads <paramref name="rows"/> with their <c>Features</c> column typed as a vector of
    /// <paramref name="featureSize"/> Singles (what a fixed <c>SequenceLength</c> needs: a <c>[VectorType]</c> size must be a constant).
    /// </summary>
    public static IDataView Load<T>(MLContext mlContext, IEnumerable<T> rows, int featureSize) where T : class
    {
        var schema = SchemaDefinition.Create(typeof(T));
        schema["Features"].ColumnType = new VectorDataViewType(NumberDataViewType.Single, featureSize);
        return mlContext.Data.LoadFromEnumerable(rows, schema);
    }
}
