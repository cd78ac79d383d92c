using System.Reflection;
using ClipTrainer.Data;
using ClipTrainer.Modeling;
using ClipTrainer.Training;
using Xunit;

namespace ClipTrainer.Tests;

/// <summary>
/// The ML.NET options are mapped to the loop's <see cref="TrainingSettings"/> and the model's
/// <see cref="SequenceModelOptions"/> in one place each: every setting there must have its option here, and a value set
/// here must arrive there. A setting added to the loop without its option fails this test.
/// </summary>
public class SequenceTrainerOptionsMappingTests
{
    // ML.NET's base options name one setting differently; every other name is the same on both sides.
    private static readonly Dictionary<string, string> Aliases = new() { [nameof(TrainingSettings.MaximumNumberOfEpochs)] = nameof(SequenceTrainerOptions.MaxEpoch) };

    public static TheoryData<string> TrainingSettingNames() =>
        [.. typeof(TrainingSettings).GetProperties().Where(p => p.CanWrite && p.Name != nameof(TrainingSettings.Task)).Select(p => p.Name)];

    public static TheoryData<string> ModelOptionNames() =>
        [.. typeof(SequenceModelOptions).GetProperties().Where(p => p.CanWrite && p.Name != nameof(SequenceModelOptions.OutputSize)).Select(p => p.Name)];

    [Theory]
    [MemberData(nameof(TrainingSettingNames))]
    public void ToTrainingSettings_EverySetting_CarriesTheOptionsValue(string name)
    {
        var target = typeof(TrainingSettings).GetProperty(name)!;
        var (options, expected) = WithDistinctValue(Aliases.GetValueOrDefault(name, name), target.PropertyType);

        var settings = options.ToTrainingSettings(SequenceTask.Regression);

        Assert.Equal(expected, target.GetValue(settings));
    }

    [Theory]
    [MemberData(nameof(ModelOptionNames))]
    public void ToModelOptions_EveryOption_CarriesTheOptionsValue(string name)
    {
        var target = typeof(SequenceModelOptions).GetProperty(name)!;
        var (options, expected) = WithDistinctValue(name, target.PropertyType);

        var model = options.ToModelOptions(outputSize: 4);

        Assert.Equal(expected, target.GetValue(model));
    }

    [Fact]
    public void ToTrainingSettings_Callbacks_AreCarriedInOrder()
    {
        var first = new NoOp();
        var second = new NoOp();
        var options = new SequenceTrainerOptions { InputSize = 2, Callbacks = [first, second] };

        var settings = options.ToTrainingSettings(SequenceTask.Regression);

        Assert.Equal<TrainingCallback>([first, second], settings.Callbacks);
    }

    private static (SequenceTrainerOptions Options, object Value) WithDistinctValue(string optionName, Type type)
    {
        var options = new SequenceTrainerOptions { InputSize = 2 };
        var field = typeof(SequenceTrainerOptions).GetField(optionName, BindingFlags.Public | BindingFlags.Instance);
        Assert.True(field is not null, $"SequenceTrainerOptions has no option named {optionName}.");
        var current = field.GetValue(options);
        var underlying = Nullable.GetUnderlyingType(type) ?? type;
        object value = underlying switch
        {
            _ when underlying == typeof(double) => (double)(current ?? 0.0) + 0.125,
            _ when underlying == typeof(int) => (int)(current ?? 0) + 3,
            _ when underlying == typeof(bool) => !(bool)current!,
            _ when underlying.IsEnum => Enum.GetValues(underlying).Cast<object>().First(v => !v.Equals(current)),
            _ when underlying.IsInterface => Activator.CreateInstance(typeof(NullProgress<>).MakeGenericType(underlying.GetGenericArguments()))!,
            _ when underlying.IsClass => Activator.CreateInstance(field.FieldType)!,
            _ => throw new InvalidOperationException($"No distinct value for {type}."),
        };
        field.SetValue(options, value);
        return (options, value);
    }

    private sealed class NoOp : TrainingCallback;

    private sealed class NullProgress<T> : IProgress<T>
    {
        public void Report(T value)
        {
        }
    }
}
