using System.Globalization;
using Microsoft.ML;
using Microsoft.ML.Data;

namespace ClipTrainer.Scoring;

/// <summary>
/// The training label's key values (the original class names), kept so that <c>PredictedLabel</c> carries them and
/// <c>MapKeyToValue</c> gives back the original labels, also after a save and load.
/// </summary>
internal sealed class LabelKeyValues
{
    private static readonly Dictionary<Type, DataViewType> SupportedTypes = new()
    {
        [typeof(ReadOnlyMemory<char>)] = TextDataViewType.Instance,
        [typeof(float)] = NumberDataViewType.Single,
        [typeof(double)] = NumberDataViewType.Double,
        [typeof(int)] = NumberDataViewType.Int32,
        [typeof(uint)] = NumberDataViewType.UInt32,
        [typeof(long)] = NumberDataViewType.Int64,
        [typeof(ulong)] = NumberDataViewType.UInt64,
        [typeof(short)] = NumberDataViewType.Int16,
        [typeof(ushort)] = NumberDataViewType.UInt16,
        [typeof(sbyte)] = NumberDataViewType.SByte,
        [typeof(byte)] = NumberDataViewType.Byte,
        [typeof(bool)] = BooleanDataViewType.Instance,
    };

    private LabelKeyValues(DataViewType itemType, string[] values)
    {
        ItemType = itemType;
        Values = values;
    }

    /// <summary>The item type of the key values (Text for string labels).</summary>
    public DataViewType ItemType { get; }

    /// <summary>The key values, invariant-culture text, in key order.</summary>
    public string[] Values { get; }

    /// <summary>The type name stored in archives.</summary>
    public string TypeName => ItemType.RawType.Name;

    /// <summary>Reads a key column's KeyValues annotation; null where it has none.</summary>
    /// <exception cref="ArgumentOutOfRangeException">The key values are of a type this library cannot carry over.</exception>
    public static LabelKeyValues? FromColumn(DataViewSchema.Column column)
    {
        var annotation = column.Annotations.Schema.GetColumnOrNull(AnnotationUtilsKinds.KeyValues);
        if (annotation is null) return null;
        var itemType = (annotation.Value.Type as VectorDataViewType)?.ItemType ?? annotation.Value.Type;
        CheckSupported(column.Name, itemType);
        var read = typeof(LabelKeyValues).GetMethod(nameof(Read), System.Reflection.BindingFlags.NonPublic | System.Reflection.BindingFlags.Static)!
            .MakeGenericMethod(itemType.RawType);
        return new LabelKeyValues(itemType, (string[])read.Invoke(null, [column])!);
    }

    /// <summary>Rebuilds key values from an archive; null type name means none.</summary>
    /// <exception cref="InvalidDataException">The type is not one this format stores.</exception>
    public static LabelKeyValues Create(string typeName, string[] values)
    {
        var type = SupportedTypes.FirstOrDefault(t => t.Key.Name == typeName).Value
            ?? throw new InvalidDataException($"Unsupported key-value type '{typeName}' in the archive.");
        return new LabelKeyValues(type, values);
    }

    /// <summary>Throws unless key values of <paramref name="itemType"/> can be carried to the predicted label.</summary>
    /// <exception cref="ArgumentOutOfRangeException">They cannot; the message names the label column and the type.</exception>
    public static void CheckSupported(string labelColumnName, DataViewType itemType)
    {
        if (!SupportedTypes.ContainsKey(itemType.RawType))
            throw new ArgumentOutOfRangeException(labelColumnName,
                $"Schema mismatch for label column '{labelColumnName}': its key values are of type {itemType}, which the predicted label cannot carry; " +
                $"expected key values of {string.Join(", ", SupportedTypes.Values.Select(t => t.ToString()))}. Map the labels to text first (e.g. with ConvertType or a custom mapping).");
    }

    /// <summary>
    /// One default value of the given item type: stands in for the key values when only a <see cref="SchemaShape"/>
    /// is known, where the annotation's type matters and its values do not.
    /// </summary>
    public static LabelKeyValues Placeholder(DataViewType itemType)
    {
        var type = SupportedTypes[itemType.RawType];
        object? value = type.RawType == typeof(ReadOnlyMemory<char>) ? "" : Activator.CreateInstance(type.RawType);
        return new LabelKeyValues(type, [Convert.ToString(value, CultureInfo.InvariantCulture)!]);
    }

    /// <summary>Adds the KeyValues annotation to an annotation builder.</summary>
    public void AddTo(DataViewSchema.Annotations.Builder builder, string kind = AnnotationUtilsKinds.KeyValues)
    {
        var add = typeof(LabelKeyValues).GetMethod(nameof(AddTyped), System.Reflection.BindingFlags.NonPublic | System.Reflection.BindingFlags.Instance)!
            .MakeGenericMethod(ItemType.RawType);
        add.Invoke(this, [builder, kind]);
    }

    private static string[] Read<T>(DataViewSchema.Column column)
    {
        VBuffer<T> buffer = default;
        column.GetKeyValues(ref buffer);
        return buffer.DenseValues().Select(v => Convert.ToString(v is ReadOnlyMemory<char> text ? text.ToString() : v, CultureInfo.InvariantCulture)!).ToArray();
    }

    private void AddTyped<T>(DataViewSchema.Annotations.Builder builder, string kind)
    {
        T[] values = Values.Select(Parse<T>).ToArray();
        ValueGetter<VBuffer<T>> getter = (ref VBuffer<T> destination) => new VBuffer<T>(values.Length, values).CopyTo(ref destination);
        builder.Add(kind, new VectorDataViewType((PrimitiveDataViewType)ItemType, values.Length), getter);
    }

    private static T Parse<T>(string text) => typeof(T) == typeof(ReadOnlyMemory<char>)
        ? (T)(object)text.AsMemory()
        : (T)Convert.ChangeType(text, typeof(T), CultureInfo.InvariantCulture);
}

/// <summary>ML.NET's annotation kind names (its AnnotationUtils.Kinds class is internal).</summary>
internal static class AnnotationUtilsKinds
{
    public const string KeyValues = "KeyValues";
    public const string SlotNames = "SlotNames";
    public const string ScoreColumnKind = "ScoreColumnKind";
    public const string ScoreValueKind = "ScoreValueKind";
    public const string IsNormalized = "IsNormalized";
    public const string ScoreColumnSetId = "ScoreColumnSetId";
    public const string TrainingLabelValues = "TrainingLabelValues";
}
