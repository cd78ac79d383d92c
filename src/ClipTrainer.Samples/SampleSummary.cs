using System.Globalization;
using Spectre.Console;

namespace ClipTrainer.Samples;

/// <summary>The one table that ends a samples run: per sample, what it trained, its held-out result, its outputs and its wall time.</summary>
internal static class SampleSummary
{
    /// <summary>One row: the sample's name, what its run returned, and how long it took.</summary>
    /// <param name="Name">The sample's name.</param>
    /// <param name="Result">What the run returned.</param>
    /// <param name="WallTime">The run's wall-clock time.</param>
    public sealed record Row(string Name, SampleResult Result, TimeSpan WallTime);

    /// <summary>Prints the table.</summary>
    /// <param name="rows">The rows, in run order.</param>
    public static void Print(IReadOnlyList<Row> rows)
    {
        var table = new Table { Border = TableBorder.Rounded, Title = new TableTitle("Summary") };
        table.AddColumn("sample");
        table.AddColumn("trained");
        table.AddColumn("held-out result");
        table.AddColumn("outputs");
        table.AddColumn(new TableColumn("seconds").RightAligned());
        foreach (var row in rows)
        {
            table.AddRow(
                Markup.Escape(row.Name),
                Markup.Escape(row.Result.Trained),
                Markup.Escape(row.Result.HeldOut),
                Markup.Escape(row.Result.Outputs ?? "none (--out DIR)"),
                row.WallTime.TotalSeconds.ToString("F1", CultureInfo.InvariantCulture));
        }

        var total = TimeSpan.FromTicks(rows.Sum(r => r.WallTime.Ticks));
        table.Caption = new TableTitle(string.Create(CultureInfo.InvariantCulture,
            $"{rows.Count} sample(s) in {total.TotalSeconds:F1} s; --verbose prints the step logs, --out DIR writes each run's history and chart"));
        AnsiConsole.Write(table);
    }
}
