using System.Reflection;
using System.Runtime.Loader;
using System.Text;
using System.Text.RegularExpressions;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp;
using Xunit;
using static ClipTrainer.Tests.Build.ConsumerProjects;

namespace ClipTrainer.Tests;

/// <summary>
/// Every ```csharp block of README.md and of the package's readme (src/ClipTrainer/PACKAGE.md) compiles against the
/// library, and the complete ones run, so the docs cannot drift from the API. The convention, stated in the README
/// next to the tour: a block is one top-level-statement program, compiled as in a new console project (the SDK's
/// implicit usings, nullable enabled); a comment <c>&lt;!-- placeholders: IDataView train, test; int count --&gt;</c>
/// right before a block declares the names it uses without defining them (semicolons separate types), and such a
/// block is compiled only; a block without placeholders is run too.
/// </summary>
[Collection(TorchSharpTrainingCollection.Name)]
public sealed class ReadmeTests
{
    private static readonly string[] Documents = ["README.md", "src/ClipTrainer/PACKAGE.md"];
    private static readonly Regex PlaceholderComment = new(@"^<!--\s*placeholders:\s*(?<list>.*?)\s*-->$");

    /// <summary>Every C# block of the documents: (document, block number from 1).</summary>
    public static TheoryData<string, int> Blocks()
    {
        var data = new TheoryData<string, int>();
        foreach (string document in Documents)
            for (int i = 1; i <= Extract(document).Count; i++) data.Add(document, i);
        return data;
    }

    [Fact]
    public void Readme_HasCSharpBlocks_AndAtLeastOneCompleteOne()
    {
        var blocks = Extract("README.md");

        Assert.True(blocks.Count >= 2, $"README.md has {blocks.Count} C# blocks.");
        Assert.Contains(blocks, b => b.Placeholders.Count == 0);
    }

    [Theory]
    [MemberData(nameof(Blocks))]
    public void CSharpBlock_Compiles_AndRunsWhenComplete(string document, int number)
    {
        var block = Extract(document)[number - 1];
        var trees = new[]
        {
            CSharpSyntaxTree.ParseText(block.Code, ParseOptions, path: $"{document}#block{number}.cs"),
            CSharpSyntaxTree.ParseText(Support(block.Placeholders), ParseOptions, path: "ReadmeSupport.cs"),
        };
        var compilation = CSharpCompilation.Create($"ReadmeBlock{number}", trees, References.Value,
            new CSharpCompilationOptions(OutputKind.ConsoleApplication, nullableContextOptions: NullableContextOptions.Enable));
        using var image = new MemoryStream();

        var result = compilation.Emit(image);

        var errors = result.Diagnostics.Where(d => d.Severity == DiagnosticSeverity.Error).ToList();
        Assert.True(result.Success, $"{document}, C# block {number} (line {block.Line}) does not compile:\n"
            + string.Join("\n", errors.Select(e => e.ToString())) + "\n\n" + Numbered(block.Code));
        if (block.Placeholders.Count > 0) return;
        Run(image.ToArray(), $"{document}, C# block {number} (line {block.Line})");
    }

    private static readonly CSharpParseOptions ParseOptions = new(LanguageVersion.Latest);

    // What a user's console project compiles against: the runtime and the library with its dependencies (the test
    // host's own assemblies and the compiler are left out).
    private static readonly Lazy<MetadataReference[]> References = new(() =>
        ((string)AppContext.GetData("TRUSTED_PLATFORM_ASSEMBLIES")!).Split(Path.PathSeparator)
            .Where(path => !Path.GetFileName(path).StartsWith("ClipTrainer.Tests", StringComparison.Ordinal)
                && !Path.GetFileName(path).StartsWith("Microsoft.CodeAnalysis", StringComparison.Ordinal)
                && !Path.GetFileName(path).StartsWith("xunit", StringComparison.Ordinal))
            .Select(path => (MetadataReference)MetadataReference.CreateFromFile(path))
            .ToArray());

    /// <summary>The SDK's implicit usings for a console project, and the placeholders as properties that throw if read.</summary>
    private static string Support(IReadOnlyList<(string Type, string Name)> placeholders)
    {
        var code = new StringBuilder("""
            global using System;
            global using System.Collections.Generic;
            global using System.IO;
            global using System.Linq;
            global using System.Net.Http;
            global using System.Threading;
            global using System.Threading.Tasks;
            global using static ReadmePlaceholders;
            using Microsoft.ML;
            using Microsoft.ML.Data;

            internal static class ReadmePlaceholders
            {

            """);
        foreach (var (type, name) in placeholders)
            code.AppendLine($"    public static {type} {name} => throw new InvalidOperationException(\"'{name}' is a README placeholder.\");");
        return code.Append('}').AppendLine().ToString();
    }

    private static void Run(byte[] image, string where)
    {
        var context = new AssemblyLoadContext(where, isCollectible: true); // its dependencies come from the test's context
        var output = new StringWriter();
        var standardOutput = Console.Out;
        try
        {
            var entryPoint = context.LoadFromStream(new MemoryStream(image)).EntryPoint!;
            Console.SetOut(output);
            object? returned = entryPoint.Invoke(null, entryPoint.GetParameters().Length == 0 ? null : [Array.Empty<string>()]);
            (returned as Task)?.GetAwaiter().GetResult();
        }
        catch (TargetInvocationException e)
        {
            Assert.Fail($"{where} compiles but throws when run: {e.InnerException}\nIt printed:\n{output}");
        }
        finally
        {
            Console.SetOut(standardOutput);
            context.Unload();
        }
    }

    private sealed record Block(int Line, string Code, IReadOnlyList<(string Type, string Name)> Placeholders);

    private static List<Block> Extract(string document)
    {
        string[] lines = File.ReadAllLines(Path.Combine(RepositoryRoot(), document));
        var blocks = new List<Block>();
        for (int i = 0; i < lines.Length; i++)
        {
            if (lines[i].Trim() != "```csharp") continue;
            int start = i + 1;
            int end = Array.FindIndex(lines, start, l => l.Trim() == "```");
            Assert.True(end > 0, $"{document}: the C# block at line {start} is not closed.");
            string previous = lines.Take(i).LastOrDefault(l => l.Trim().Length > 0)?.Trim() ?? "";
            var match = PlaceholderComment.Match(previous);
            var placeholders = match.Success ? ParsePlaceholders(match.Groups["list"].Value) : [];
            blocks.Add(new Block(start, string.Join("\n", lines[start..end]), placeholders));
            i = end;
        }
        return blocks;
    }

    // "IDataView train, test; int count" → (IDataView, train), (IDataView, test), (int, count)
    private static List<(string Type, string Name)> ParsePlaceholders(string list) =>
        list.Split(';', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)
            .SelectMany(group =>
            {
                int space = group.IndexOf(' ');
                string type = group[..space];
                return group[(space + 1)..].Split(',', StringSplitOptions.TrimEntries).Select(name => (type, name));
            })
            .ToList();

    private static string Numbered(string code) =>
        string.Join("\n", code.Split('\n').Select((line, i) => $"{i + 1,3}: {line}"));
}
