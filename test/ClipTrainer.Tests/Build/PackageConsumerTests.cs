using System.Globalization;
using System.IO.Compression;
using System.Runtime.InteropServices;
using System.Text.RegularExpressions;
using System.Xml.Linq;
using Xunit;
using static ClipTrainer.Tests.Build.ConsumerProjects;

namespace ClipTrainer.Tests.Build;

/// <summary>
/// The package as a user gets it: `dotnet pack` of src/ClipTrainer (no warnings; the metadata, readme, symbols and
/// buildTransitive targets in it), installed from a local folder feed into a throwaway project outside this repository
/// (so nothing of the repository's Directory.Build.targets reaches it), which builds, fits a ClipTrainer model on 20
/// rows and scores them. The native-load fix can only have arrived through the package's buildTransitive step.
/// </summary>
/// <remarks>
/// Each run packs once (a class fixture) a version of its own (0.0.0-test.…) and deletes it from NuGet's global packages folder afterwards,
/// so a later run never restores a stale copy. The consumer restores everything else from the machine's own NuGet
/// sources and cache, as the other consumer test does.
/// </remarks>
[Collection(ConsumerBuildCollection.Name)]
public sealed class PackageConsumerTests : IClassFixture<PackageConsumerTests.PackedLibrary>
{
    private readonly PackedLibrary _packed;
    private readonly string _directory;
    private readonly string _version;

    public PackageConsumerTests(PackedLibrary packed)
    {
        _packed = packed;
        _directory = packed.Directory;
        _version = packed.Version;
    }

    [Fact]
    public void Pack_ProducesPackageWithMetadataReadmeSymbolsAndBuildTransitive_WithoutWarnings()
    {
        var (feed, output) = (_packed.Feed, _packed.Output);

        Assert.DoesNotMatch(new Regex(@"\bwarning\s+[A-Z]+\d+", RegexOptions.IgnoreCase), output);
        Assert.True(File.Exists(Path.Combine(feed, $"ClipTrainer.{_version}.snupkg")), $"No symbol package in {feed}:\n{output}");
        using var package = ZipFile.OpenRead(Path.Combine(feed, $"ClipTrainer.{_version}.nupkg"));
        var files = package.Entries.Select(e => e.FullName).ToList();
        Assert.Contains("PACKAGE.md", files);
        Assert.Contains("buildTransitive/ClipTrainer.targets", files);
        Assert.Contains("buildTransitive/ClipTrainer.NativeLoadFix.cs", files);
        Assert.Contains("lib/net10.0/ClipTrainer.dll", files);
        Assert.Contains("lib/net10.0/ClipTrainer.xml", files);

        XElement metadata;
        using (var nuspec = package.GetEntry("ClipTrainer.nuspec")!.Open()) metadata = XDocument.Load(nuspec).Root!.Elements().Single(e => e.Name.LocalName == "metadata");
        string Field(string name) => metadata.Elements().SingleOrDefault(e => e.Name.LocalName == name)?.Value ?? "";
        Assert.Equal("ClipTrainer", Field("id"));
        Assert.Equal(_version, Field("version"));
        Assert.Equal("ClipTrainer contributors", Field("authors"));
        Assert.Equal("MIT", Field("license"));
        Assert.Equal("PACKAGE.md", Field("readme"));
        Assert.Contains("TorchSharp", Field("description"));
        Assert.Contains("gradient-clipping", Field("tags"));
        var dependencies = metadata.Descendants().Where(e => e.Name.LocalName == "dependency").Select(e => (string)e.Attribute("id")!).ToList();
        Assert.Equal(["Microsoft.ML", "Microsoft.ML.TorchSharp", "TorchSharp-cpu"], dependencies.Order());
    }

    [Fact]
    public void PackageConsumer_FromLocalFeed_BuildsWithTheFixAndFitsAndScoresAModel()
    {
        if (!RuntimeInformation.IsOSPlatform(OSPlatform.Linux)) return;
        string feed = _packed.Feed;
        string consumer = Directory.CreateDirectory(Path.Combine(_directory, "Consumer")).FullName;
        File.WriteAllText(Path.Combine(consumer, "nuget.config"), $"""
            <?xml version="1.0" encoding="utf-8"?>
            <configuration>
              <packageSources>
                <add key="cliptrainer-local" value="{feed}" />
              </packageSources>
            </configuration>
            """);
        File.WriteAllText(Path.Combine(consumer, "Consumer.csproj"), $"""
            <Project Sdk="Microsoft.NET.Sdk">
              <PropertyGroup>
                <OutputType>Exe</OutputType>
                <TargetFramework>net10.0</TargetFramework>
                <Nullable>enable</Nullable>
                <ImplicitUsings>enable</ImplicitUsings>
                <NoWarn>$(NoWarn);NU1603</NoWarn>
              </PropertyGroup>
              <ItemGroup>
                <PackageReference Include="ClipTrainer" Version="{_version}" />
              </ItemGroup>
            </Project>
            """);
        // The label is the sum of feature 0 over the 4 steps; 20 rows, 2 features per step.
        File.WriteAllText(Path.Combine(consumer, "Program.cs"), """
            using ClipTrainer;
            using ClipTrainer.Clipping;
            using Microsoft.ML;
            using Microsoft.ML.Data;

            TorchSharp.torch.set_num_threads(1);
            var mlContext = new MLContext(seed: 1);
            var random = new Random(1);
            var rows = Enumerable.Range(0, 20).Select(_ =>
            {
                var features = Enumerable.Range(0, 8).Select(_ => (float)(random.NextDouble() * 2 - 1)).ToArray();
                return new Row { Features = features, Label = features.Where((_, i) => i % 2 == 0).Sum() };
            }).ToList();
            var data = mlContext.Data.LoadFromEnumerable(rows);
            var model = mlContext.Regression.Trainers.ClipTrainer(inputSize: 2, sequenceLength: 4,
                clippingMode: ClippingMode.GlobalNorm, clippingThreshold: 1.0).Fit(data);
            var scored = model.Transform(data);
            var scores = scored.GetColumn<float>("Score").ToList();
            var metrics = mlContext.Regression.Evaluate(scored);
            Console.WriteLine($"scored {scores.Count} rows, all finite: {scores.All(float.IsFinite)}, RMSE {metrics.RootMeanSquaredError:F3}");

            public sealed class Row
            {
                [VectorType(8)] public float[] Features { get; set; } = [];
                public float Label { get; set; }
            }
            """);
        string artifacts = Path.Combine(_directory, "consumer-artifacts");

        Dotnet(consumer, "build", "--artifacts-path", artifacts);

        string output = Path.Combine(artifacts, "bin", "Consumer", "debug");
        AssertCarriesTheFix(Path.Combine(output, "runtimes", "linux-x64", "native", LibraryName));
        Assert.Contains("scored 20 rows, all finite: True", Dotnet(output, "Consumer.dll"));
    }

    /// <summary>src/ClipTrainer packed once for the class, at a version of its own, into a folder feed (built in a temporary artifacts folder).</summary>
    public sealed class PackedLibrary : IDisposable
    {
        public PackedLibrary()
        {
            Directory = System.IO.Directory.CreateTempSubdirectory("cliptrainer-package-").FullName;
            Version = "0.0.0-test." + DateTime.UtcNow.ToString("yyyyMMddHHmmss", CultureInfo.InvariantCulture) + "." + Environment.ProcessId;
            Feed = Path.Combine(Directory, "feed");
            string project = Path.Combine(RepositoryRoot(), "src", "ClipTrainer", "ClipTrainer.csproj");
            Output = Dotnet(Directory, "pack", project, "-c", "Release", "-o", Feed,
                "--artifacts-path", Path.Combine(Directory, "pack-artifacts"), $"-p:Version={Version}");
        }

        public string Directory { get; }

        public string Version { get; }

        public string Feed { get; }

        /// <summary>What `dotnet pack` printed.</summary>
        public string Output { get; }

        public void Dispose()
        {
            System.IO.Directory.Delete(Directory, recursive: true);
            string unpacked = Path.Combine(PackagesFolder(), "cliptrainer", Version);
            if (System.IO.Directory.Exists(unpacked)) System.IO.Directory.Delete(unpacked, recursive: true);
        }
    }
}
