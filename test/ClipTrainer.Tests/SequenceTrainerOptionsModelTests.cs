using ClipTrainer.Modeling;
using Xunit;

namespace ClipTrainer.Tests;

/// <summary>
/// The training settings are inherited by <see cref="SequenceTrainerOptions"/>, so only the model's shape is mapped (to
/// <see cref="SequenceModelOptions"/>): every model option must have its trainer option, and a value set there must
/// arrive. An option added to the model without its trainer option fails this test.
/// </summary>
public class SequenceTrainerOptionsModelTests
{
    public static TheoryData<string> ModelOptionNames() =>
        [.. typeof(SequenceModelOptions).GetProperties().Where(p => p.CanWrite && p.Name != nameof(SequenceModelOptions.OutputSize)).Select(p => p.Name)];

    [Theory]
    [MemberData(nameof(ModelOptionNames))]
    public void ToModelOptions_EveryModelOption_CarriesTheTrainerOptionsValue(string name)
    {
        var options = new SequenceTrainerOptions { InputSize = 2 };
        var source = typeof(SequenceTrainerOptions).GetProperty(name);
        Assert.True(source is not null, $"SequenceTrainerOptions has no option named {name}.");
        var current = source.GetValue(options);
        object value = current switch
        {
            double d => d + 0.125,
            int i => i + 3,
            bool b => !b,
            Enum e => Enum.GetValues(e.GetType()).Cast<object>().First(v => !v.Equals(e)),
            null when source.PropertyType == typeof(int?) => 7, // an option that is off by default (null)
            _ => throw new InvalidOperationException($"No distinct value for {name}."),
        };
        source.SetValue(options, value);

        var model = options.ToModelOptions(outputSize: 4);

        Assert.Equal(value, typeof(SequenceModelOptions).GetProperty(name)!.GetValue(model));
        Assert.Equal(4, model.OutputSize);
    }
}
