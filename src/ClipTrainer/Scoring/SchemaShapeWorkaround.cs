using System.Reflection;
using Microsoft.ML;
using Microsoft.ML.Data;

namespace ClipTrainer.Scoring;

/// <summary>
/// Builds <see cref="SchemaShape"/> columns for the estimator's <c>GetOutputSchema</c>. Why this exists: ML.NET's
/// <c>SchemaShape.Column</c> constructor and <c>SchemaShape.Create(DataViewSchema)</c> are internal
/// (dotnet/machinelearning#3243), so an external estimator cannot describe its output columns directly. A no-op
/// <c>CustomMapping</c> estimator whose output <see cref="SchemaDefinition"/> describes the columns (types and
/// annotations) computes the shape through public API only. Nothing else in ClipTrainer touches this problem.
/// </summary>
internal static class SchemaShapeWorkaround
{
    private static readonly MethodInfo CopyAnnotationMethod =
        typeof(SchemaShapeWorkaround).GetMethod(nameof(CopyAnnotation), BindingFlags.NonPublic | BindingFlags.Static)!;

    /// <summary>Returns <paramref name="input"/> with the columns of <paramref name="added"/> appended in their order (or replacing same-named ones).</summary>
    public static SchemaShape Append(SchemaShape input, DataViewSchema added)
    {
        var definition = SchemaDefinition.Create(typeof(ShapeRow));
        var used = new List<SchemaDefinition.Column>();
        var unused = new Dictionary<Type, Queue<string>>
        {
            [typeof(VBuffer<float>)] = new([nameof(ShapeRow.Vector)]),
            [typeof(float)] = new([nameof(ShapeRow.Single1), nameof(ShapeRow.Single2)]),
            [typeof(uint)] = new([nameof(ShapeRow.Key)]),
            [typeof(bool)] = new([nameof(ShapeRow.Boolean)]),
        };
        foreach (var column in added)
        {
            var member = unused[column.Type.RawType].Dequeue();
            var described = definition.Single(c => c.MemberName == member);
            described.ColumnName = column.Name;
            described.ColumnType = column.Type;
            foreach (var annotation in column.Annotations.Schema)
                CopyAnnotationMethod.MakeGenericMethod(annotation.Type.RawType).Invoke(null, [column.Annotations, annotation, described]);
            used.Add(described);
        }
        // The mapping's columns follow the definition's order: make it the order of the added columns.
        definition.Clear();
        definition.AddRange(used);
        var mapping = new MLContext().Transforms.CustomMapping<Empty, ShapeRow>((_, _) => { }, contractName: null, outputSchemaDefinition: definition);
        return mapping.GetOutputSchema(input);
    }

    private static void CopyAnnotation<T>(DataViewSchema.Annotations annotations, DataViewSchema.Column annotation, SchemaDefinition.Column target)
    {
        T value = default!;
        annotations.GetGetter<T>(annotation)(ref value);
        target.AddAnnotation(annotation.Name, value, annotation.Type);
    }

    private sealed class Empty;

    private sealed class ShapeRow
    {
        public VBuffer<float> Vector { get; set; }
        public float Single1 { get; set; }
        public float Single2 { get; set; }
        public uint Key { get; set; }
        public bool Boolean { get; set; }
    }
}
