using ClipTrainer.Scoring;
using Microsoft.ML;
using Microsoft.ML.Data;
using Xunit;

namespace ClipTrainer.Tests.Scoring;

/// <summary>
/// Where the scored schema's columns come from, by ML.NET's rule (ColumnBindingsBase): input columns in order, an
/// added column that hides an input column right after it, the other added columns at the end; and the
/// ScoreColumnSetId numbering (one more than the largest UInt32-key id on any input column, hidden ones included).
/// </summary>
public sealed class ScoredLayoutTests
{
    [Fact]
    public void Sources_AddedColumnHidingAnInputColumn_FollowsIt_OthersGoLast()
    {
        var input = Schema(("A", null), ("Score", null), ("B", null));

        var layout = new ScoredLayout(input, ["PredictedLabel", "Score"]);

        Assert.Equal([0, 1, ~1, 2, ~0], layout.Sources);
        Assert.True(layout.IsInput(3, out int inputIndex));
        Assert.Equal(2, inputIndex);
        Assert.False(layout.IsInput(2, out _));
        Assert.Equal(1, layout.AddedIndex(2));
    }

    [Fact]
    public void Sources_NameRepeatedInTheInput_AddedColumnFollowsTheVisibleOne()
    {
        var input = Schema(("Score", null), ("A", null), ("Score", null));

        var layout = new ScoredLayout(input, ["Score"]);

        Assert.Equal([0, 1, 2, ~0], layout.Sources);
    }

    [Fact]
    public void Next_CountsUInt32KeyIdsOnAnyColumn_IgnoresOtherTypes()
    {
        var input = Schema(("Old", 5u), ("A", null), ("Old", 3u), ("Plain", null));
        var withPlainNumber = new DataViewSchema.Builder();
        withPlainNumber.AddColumns(input);
        var annotations = new DataViewSchema.Annotations.Builder();
        annotations.Add("ScoreColumnSetId", NumberDataViewType.UInt32, (ref uint value) => value = 9);
        withPlainNumber.AddColumn("NotAKey", NumberDataViewType.Single, annotations.ToAnnotations());

        Assert.Equal(1u, ScoreColumnSets.Next(Schema(("A", null))));
        Assert.Equal(6u, ScoreColumnSets.Next(input)); // the hidden "Old" carries the largest id
        Assert.Equal(6u, ScoreColumnSets.Next(withPlainNumber.ToSchema()));
    }

    private static DataViewSchema Schema(params (string Name, uint? SetId)[] columns)
    {
        var builder = new DataViewSchema.Builder();
        foreach (var (name, setId) in columns)
        {
            var annotations = new DataViewSchema.Annotations.Builder();
            if (setId is uint id)
                annotations.Add("ScoreColumnSetId", new KeyDataViewType(typeof(uint), int.MaxValue), (ref uint value) => value = id);
            builder.AddColumn(name, NumberDataViewType.Single, annotations.ToAnnotations());
        }
        return builder.ToSchema();
    }
}
