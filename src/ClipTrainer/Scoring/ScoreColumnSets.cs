using Microsoft.ML;
using Microsoft.ML.Data;

namespace ClipTrainer.Scoring;

/// <summary>
/// The <c>ScoreColumnSetId</c> annotation, numbered as ML.NET numbers it: every column a scorer adds carries the same
/// id, one more than the largest id on any column of the scorer's input (hidden columns included), so a schema scored
/// twice has sets 1 and 2 and ML.NET's evaluators pick the newest set. ML.NET does this in its internal scorer base
/// (<c>RowToRowScorerBase</c> with <c>AnnotationUtils.GetMaxAnnotationKind</c>); the annotation itself is public
/// data, so this reads and writes it through public API.
/// </summary>
internal static class ScoreColumnSets
{
    /// <summary>The id of the first set, and the one a <see cref="SchemaShape"/> stands for (it holds no values).</summary>
    public const uint First = 1;

    /// <summary>The annotation's type: ML.NET's <c>AnnotationUtils.ScoreColumnSetIdType</c>, a UInt32 key of <see cref="int.MaxValue"/> values.</summary>
    public static KeyDataViewType IdType { get; } = new(typeof(uint), int.MaxValue);

    /// <summary>The id for the columns a scorer adds to <paramref name="input"/>.</summary>
    /// <exception cref="OverflowException">The input already carries the largest id.</exception>
    public static uint Next(DataViewSchema input)
    {
        uint max = 0;
        foreach (var column in input)
        {
            // ML.NET considers only ids of its own type (a UInt32 key); anything else under the name is not a set id.
            var type = column.Annotations.Schema.GetColumnOrNull(AnnotationUtilsKinds.ScoreColumnSetId)?.Type;
            if (type is not KeyDataViewType || type.RawType != typeof(uint)) continue;
            uint id = 0;
            column.Annotations.GetValue(AnnotationUtilsKinds.ScoreColumnSetId, ref id);
            max = Math.Max(max, id);
        }
        return checked(max + 1);
    }
}
