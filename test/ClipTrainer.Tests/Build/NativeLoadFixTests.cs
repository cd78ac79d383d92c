using System.Runtime.InteropServices;
using ClipTrainer.Build;
using TorchSharp;
using Xunit;

namespace ClipTrainer.Tests.Build;

public sealed class NativeLoadFixTests : IDisposable
{
    private const string LibraryName = "libLibTorchSharp.so";
    private readonly string _directory = Directory.CreateTempSubdirectory("cliptrainer-elf-").FullName;

    public void Dispose() => Directory.Delete(_directory, recursive: true);

    private static string PackageLibrary()
    {
        var version = typeof(torch).Assembly.GetName().Version!;
        string packages = Environment.GetEnvironmentVariable("NUGET_PACKAGES")
            ?? Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), ".nuget", "packages");
        string path = Path.Combine(packages, "torchsharp", $"{version.Major}.{version.Minor}.{version.Build}",
            "runtimes", "linux-x64", "native", LibraryName);
        Assert.True(File.Exists(path), $"The NuGet package's {LibraryName} was not found at {path}.");
        return path;
    }

    private static string OutputLibrary() =>
        Path.Combine(AppContext.BaseDirectory, "runtimes", "linux-x64", "native", LibraryName);

    private string CopyOfPackageLibrary()
    {
        string copy = Path.Combine(_directory, LibraryName);
        File.Copy(PackageLibrary(), copy);
        return copy;
    }

    private static HashSet<string> HostWithout(params string[] versions)
    {
        // Every version the library needs from libstdc++, minus the given ones: a host that lacks exactly those.
        var all = ElfVersionNeeds.ReadVersionNeeds(File.ReadAllBytes(PackageLibrary()))
            .Where(n => n.File == NativeLoadFix.NeededLibrary).Select(n => n.Version);
        return all.Except(versions).ToHashSet();
    }

    [Fact]
    public void ReadVersionNeeds_MatchesReadelf_OnShippedLibrary()
    {
        // Expected values read with `readelf -V` from TorchSharp 0.107.0's library: 20 libstdc++ needs, GLIBCXX_3.4.32
        // among them with index 18 and no flags.
        var needs = ElfVersionNeeds.ReadVersionNeeds(File.ReadAllBytes(PackageLibrary()));
        var libstdcxx = needs.Where(n => n.File == "libstdc++.so.6").ToList();
        Assert.Equal(20, libstdcxx.Count);
        var anchor = Assert.Single(libstdcxx, n => n.Version == "GLIBCXX_3.4.32");
        Assert.Equal(18, anchor.Index);
        Assert.False(anchor.IsWeak);
        Assert.Contains(needs, n => n.File == "libc.so.6" && n.Version == "GLIBC_2.34");
    }

    [Fact]
    public void BuildOutput_DiffersFromPackageOnlyInWeakFlagsOfVersionsTheHostLacks()
    {
        byte[] original = File.ReadAllBytes(PackageLibrary());
        byte[] output = File.ReadAllBytes(OutputLibrary());
        Assert.Equal(original.Length, output.Length);

        if (!RuntimeInformation.IsOSPlatform(OSPlatform.Linux)) { Assert.Equal(original, output); return; }
        var host = NativeLoadFix.ReadHostVersions();
        Assert.NotNull(host);
        var expectedWeak = ElfVersionNeeds.ReadVersionNeeds(original)
            .Where(n => n.File == NativeLoadFix.NeededLibrary && !host!.Contains(n.Version)).ToList();
        var outputNeeds = ElfVersionNeeds.ReadVersionNeeds(output);

        foreach (var need in expectedWeak)
            Assert.True(outputNeeds.Single(n => n.FlagsOffset == need.FlagsOffset).IsWeak, $"{need.Version} is not weak in the output.");
        var allowed = expectedWeak.SelectMany(n => new[] { n.FlagsOffset, n.FlagsOffset + 1 }).ToHashSet();
        var changed = Enumerable.Range(0, original.Length).Where(i => original[i] != output[i]).Select(i => (long)i).ToList();
        Assert.All(changed, offset => Assert.Contains(offset, allowed));
        Assert.Equal(expectedWeak.Count > 0, changed.Count > 0);
    }

    [Fact]
    public void BuildOutput_MarksGlibcxx3432Weak_ExactlyWhenTheLoadedLibstdcxxLacksIt()
    {
        // Independent of the code under test's host lookup and version reading: the libstdc++ this process mapped, and
        // a plain byte search for the version name in it.
        if (!RuntimeInformation.IsOSPlatform(OSPlatform.Linux)) return;
        bool hostHasIt = LoadedLibstdcxx.Defines("GLIBCXX_3.4.32");

        var anchor = ElfVersionNeeds.ReadVersionNeeds(File.ReadAllBytes(OutputLibrary())).Single(n => n.Version == "GLIBCXX_3.4.32");

        Assert.Equal(!hostHasIt, anchor.IsWeak);
    }

    [Fact]
    public void BuildOutput_Loads_AndTorchComputes()
    {
        using var sum = torch.ones(3).sum();
        Assert.Equal(3f, sum.item<float>());
    }

    [Fact]
    public void Apply_WeakensOnlyTheMissingVersion_AndIsIdempotent()
    {
        string path = CopyOfPackageLibrary();
        byte[] before = File.ReadAllBytes(path);

        var first = NativeLoadFix.Apply(path, HostWithout("GLIBCXX_3.4.32"));
        byte[] once = File.ReadAllBytes(path);
        var second = NativeLoadFix.Apply(path, HostWithout("GLIBCXX_3.4.32"));

        Assert.Equal(new[] { "GLIBCXX_3.4.32" }, first);
        Assert.Empty(second);
        Assert.Equal(once, File.ReadAllBytes(path));
        var changed = Enumerable.Range(0, before.Length).Where(i => before[i] != once[i]).ToList();
        var offset = ElfVersionNeeds.ReadVersionNeeds(before).Single(n => n.Version == "GLIBCXX_3.4.32").FlagsOffset;
        Assert.Equal(new[] { (int)offset }, changed);
        Assert.Equal(ElfVersionNeeds.WeakFlag, once[offset]);
    }

    [Fact]
    public void Apply_LeavesFileByteIdentical_WhenHostHasEveryVersion()
    {
        string path = CopyOfPackageLibrary();
        byte[] before = File.ReadAllBytes(path);
        var stamp = File.GetLastWriteTimeUtc(path);

        Assert.Empty(NativeLoadFix.Apply(path, HostWithout()));
        Assert.Equal(before, File.ReadAllBytes(path));
        Assert.Equal(stamp, File.GetLastWriteTimeUtc(path));
    }

    [Fact]
    public void Apply_Throws_WhenAMissingVersionIsActuallyUsed()
    {
        // GLIBCXX_3.4.30 carries symbols that relocations bind: weakening it would crash at call time instead.
        string path = CopyOfPackageLibrary();
        byte[] before = File.ReadAllBytes(path);

        var error = Assert.Throws<InvalidDataException>(() => NativeLoadFix.Apply(path, HostWithout("GLIBCXX_3.4.30", "GLIBCXX_3.4.32")));

        Assert.Contains("GLIBCXX_3.4.30", error.Message);
        Assert.DoesNotContain("GLIBCXX_3.4.32", error.Message);
        Assert.Contains(path, error.Message);
        Assert.Equal(before, File.ReadAllBytes(path));
    }

    [Fact]
    public void Apply_DoesNotWriteThroughAHardLink()
    {
        string path = CopyOfPackageLibrary();
        string link = Path.Combine(_directory, "linked.so");
        Assert.Equal(0, CreateHardLink(path, link));
        byte[] before = File.ReadAllBytes(path);

        NativeLoadFix.Apply(link, HostWithout("GLIBCXX_3.4.32"));

        Assert.Equal(before, File.ReadAllBytes(path));
        Assert.NotEqual(before, File.ReadAllBytes(link));
    }

    [Fact]
    public void WritePatchedCopy_WritesAPatchedCopyStampedAfterTheSource_AndLeavesTheSourceAlone()
    {
        string source = CopyOfPackageLibrary();
        byte[] before = File.ReadAllBytes(source);
        var stamp = File.GetLastWriteTimeUtc(source);
        string copy = Path.Combine(_directory, "out", "runtimes", LibraryName);

        var first = NativeLoadFix.WritePatchedCopy(source, copy, HostWithout("GLIBCXX_3.4.32"), out bool firstWritten);
        var written = File.GetLastWriteTimeUtc(copy);
        var second = NativeLoadFix.WritePatchedCopy(source, copy, HostWithout("GLIBCXX_3.4.32"), out bool secondWritten);

        Assert.Equal(new[] { "GLIBCXX_3.4.32" }, first);
        Assert.Equal(first, second);
        Assert.True(firstWritten);
        Assert.False(secondWritten);
        Assert.Equal(before, File.ReadAllBytes(source));
        Assert.Equal(stamp, File.GetLastWriteTimeUtc(source));
        Assert.Equal(stamp + NativeLoadFix.CopyTimestampOffset, written);
        Assert.Equal(written, File.GetLastWriteTimeUtc(copy));
        byte[] patched = File.ReadAllBytes(copy);
        var offset = ElfVersionNeeds.ReadVersionNeeds(before).Single(n => n.Version == "GLIBCXX_3.4.32").FlagsOffset;
        Assert.Equal(new[] { (int)offset }, Enumerable.Range(0, before.Length).Where(i => before[i] != patched[i]));
        Assert.Empty(Directory.GetFiles(Path.GetDirectoryName(copy)!, "*.cliptrainer-tmp"));
    }

    [Fact]
    public void WritePatchedCopy_WantsNoCopy_AndDeletesAStaleOne_WhenTheHostHasEveryVersion()
    {
        string source = CopyOfPackageLibrary();
        string copy = Path.Combine(_directory, "stale.so");
        File.WriteAllText(copy, "left over from a host that needed the patch");

        var weakened = NativeLoadFix.WritePatchedCopy(source, copy, HostWithout(), out bool written);

        Assert.Empty(weakened);
        Assert.False(written);
        Assert.False(File.Exists(copy));
    }

    [Fact]
    public void ReadLdSoConf_FollowsIncludesInOrder_AndSkipsCommentsHwcapRelativeEntriesAndCycles()
    {
        string etc = Directory.CreateDirectory(Path.Combine(_directory, "etc")).FullName;
        string confD = Directory.CreateDirectory(Path.Combine(etc, "ld.so.conf.d")).FullName;
        string conf = Path.Combine(etc, "ld.so.conf");
        File.WriteAllLines(conf, new[]
        {
            "# the distribution's own",
            "include ld.so.conf.d/*.conf",
            "/opt/first",
            "hwcap 0 nosegneon",
            "  /opt/trailing/slash/   # a comment after an entry",
            "relative/dir",
            "/opt/legacy=libc5",
            $"include {Path.Combine(etc, "absolute.conf")} {Path.Combine(etc, "missing-*.conf")}",
        });
        File.WriteAllText(Path.Combine(confD, "b.conf"), "/opt/b\n");
        File.WriteAllText(Path.Combine(confD, "a.conf"), "/opt/a\ninclude ../ld.so.conf\n"); // a cycle back to the top
        File.WriteAllText(Path.Combine(confD, "ignored.txt"), "/opt/not-a-conf-file\n");
        File.WriteAllText(Path.Combine(etc, "absolute.conf"), "/opt/absolute\n");

        Assert.Equal(
            new[] { "/opt/a", "/opt/b", "/opt/first", "/opt/trailing/slash", "/opt/legacy", "/opt/absolute" },
            ElfVersionNeeds.ReadLdSoConf(conf));
        Assert.Empty(ElfVersionNeeds.ReadLdSoConf(Path.Combine(etc, "absent.conf")));
    }

    [Fact]
    public void LibrarySearchDirectories_PutLdLibraryPathFirst_ThenLdSoConf_ThenTheDefaults_EachOnce()
    {
        string conf = Path.Combine(_directory, "ld.so.conf");
        File.WriteAllLines(conf, new[] { "/opt/conf", "/usr/lib/x86_64-linux-gnu", "/env/one" });

        var directories = ElfVersionNeeds.LibrarySearchDirectories("/env/one::/env/two", conf, "x86_64-linux-gnu");

        Assert.Equal(
            new[] { "/env/one", "/env/two", "/opt/conf", "/usr/lib/x86_64-linux-gnu", "/lib/x86_64-linux-gnu", "/lib64", "/usr/lib64", "/lib", "/usr/lib" },
            directories);
    }

    [Fact]
    public void FindHostLibrary_FindsTheLibstdcxxThisProcessLoaded()
    {
        if (!RuntimeInformation.IsOSPlatform(OSPlatform.Linux)) return;
        string? loaded = LoadedLibstdcxx.Path();
        Assert.NotNull(loaded);

        string? found = ElfVersionNeeds.FindHostLibrary(NativeLoadFix.NeededLibrary);

        Assert.NotNull(found);
        Assert.Equal(File.ReadAllBytes(loaded!), File.ReadAllBytes(found!));
    }

    [Fact]
    public void Apply_NamesTheFile_WhenItIsMissing()
    {
        string path = Path.Combine(_directory, "absent.so");
        var error = Assert.Throws<FileNotFoundException>(() => NativeLoadFix.Apply(path, HostWithout()));
        Assert.Contains(path, error.Message);
    }

    [Theory]
    [InlineData("not an elf file at all, just text that is long enough to have a header........................", "bad magic")]
    [InlineData(null, "outside the file")]
    public void Apply_ExplainsAFileThatCannotBeParsed(string? content, string fragment)
    {
        string path = Path.Combine(_directory, "damaged.so");
        if (content != null) File.WriteAllText(path, content);
        else File.WriteAllBytes(path, File.ReadAllBytes(PackageLibrary()).Take(200_000).ToArray()); // truncated

        var error = Assert.Throws<InvalidDataException>(() => NativeLoadFix.Apply(path, HostWithout()));

        Assert.Contains(path, error.Message);
        Assert.Contains(fragment, error.Message);
    }

    [DllImport("libc", EntryPoint = "link", SetLastError = true)]
    private static extern int CreateHardLink(string existing, string newLink);
}
