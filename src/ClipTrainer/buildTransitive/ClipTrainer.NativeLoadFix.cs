// Build-time fix that lets TorchSharp 0.107's native wrapper load on distributions whose libstdc++ is older than the
// one it was linked against (Debian 12, Ubuntu 22.04: GCC 12's libstdc++, up to GLIBCXX_3.4.30).
//
// libLibTorchSharp.so was built with GCC 13, which records a need for GLIBCXX_3.4.32 only because of
// std::ios_base_library_init(), a link-time anchor for <iostream> that no relocation refers to, so it is never called.
// Marking that one version need weak (VER_FLG_WEAK in its Vernaux entry of .gnu.version_r) makes the dynamic loader
// accept the library. The patch is computed, not hard-coded: a version need is weakened only when the host's
// libstdc++ does not define it AND no relocation refers to a symbol of that version; otherwise the build fails with a
// message rather than produce a library that would crash at run time.
//
// This file is compiled twice: by MSBuild's RoslynCodeTaskFactory (ClipTrainer.targets, with the task class) and by
// the test project (CLIPTRAINER_ELF_ONLY, without it). It targets netstandard2.0 and C# 7.3, the task factory's floor.
// It holds several types and runs past the usual file size on purpose: the task factory compiles one source file, and a
// package that ships this source needs no build-time binary of its own.
#nullable enable
using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using System.Runtime.InteropServices;
using System.Text;

namespace ClipTrainer.Build
{
    /// <summary>One entry of an ELF file's version-needs table (.gnu.version_r).</summary>
    public sealed class ElfVersionNeed
    {
        /// <summary>Creates an entry.</summary>
        public ElfVersionNeed(string file, string version, ushort flags, ushort index, long flagsOffset)
        {
            File = file;
            Version = version;
            Flags = flags;
            Index = index;
            FlagsOffset = flagsOffset;
        }

        /// <summary>The needed library's soname, e.g. "libstdc++.so.6".</summary>
        public string File { get; }

        /// <summary>The version name, e.g. "GLIBCXX_3.4.32".</summary>
        public string Version { get; }

        /// <summary>The vna_flags field; bit <see cref="ElfVersionNeeds.WeakFlag"/> marks a weak need.</summary>
        public ushort Flags { get; }

        /// <summary>The vna_other field: the version index that .gnu.version uses for this version's symbols.</summary>
        public ushort Index { get; }

        /// <summary>The file offset of the two-byte vna_flags field.</summary>
        public long FlagsOffset { get; }

        /// <summary>Whether the need is marked weak.</summary>
        public bool IsWeak => (Flags & ElfVersionNeeds.WeakFlag) != 0;
    }

    /// <summary>Reads and patches symbol-version information of 64-bit little-endian ELF shared libraries.</summary>
    public static class ElfVersionNeeds
    {
        /// <summary>VER_FLG_WEAK: the loader tolerates a missing weak version need.</summary>
        public const ushort WeakFlag = 0x2;

        private const uint SectionTypeRela = 4;
        private const uint SectionTypeRel = 9;
        private const uint SectionTypeVersionDefinitions = 0x6ffffffd;
        private const uint SectionTypeVersionNeeds = 0x6ffffffe;
        private const uint SectionTypeVersionSymbols = 0x6fffffff;

        /// <summary>Lists every version need of the library.</summary>
        /// <exception cref="InvalidDataException">The bytes are not a well-formed 64-bit little-endian ELF file.</exception>
        public static IReadOnlyList<ElfVersionNeed> ReadVersionNeeds(byte[] elf)
        {
            var result = new List<ElfVersionNeed>();
            foreach (var section in ReadSections(elf).Where(s => s.Type == SectionTypeVersionNeeds))
            {
                var strings = ReadSections(elf)[(int)section.Link];
                long need = section.Offset;
                while (true)
                {
                    string file = ReadString(elf, strings, U32(elf, need + 4));
                    ushort count = U16(elf, need + 2);
                    long aux = need + U32(elf, need + 8);
                    for (int i = 0; i < count; i++)
                    {
                        result.Add(new ElfVersionNeed(
                            file, ReadString(elf, strings, U32(elf, aux + 8)), U16(elf, aux + 4), U16(elf, aux + 6), aux + 4));
                        aux += U32(elf, aux + 12);
                    }
                    uint next = U32(elf, need + 12);
                    if (next == 0) break;
                    need += next;
                }
            }
            return result;
        }

        /// <summary>Lists the version names a library defines (.gnu.version_d), e.g. a libstdc++'s GLIBCXX_* set.</summary>
        /// <exception cref="InvalidDataException">The bytes are not a well-formed 64-bit little-endian ELF file.</exception>
        public static ISet<string> ReadVersionDefinitions(byte[] elf)
        {
            var sections = ReadSections(elf);
            var result = new HashSet<string>(StringComparer.Ordinal);
            foreach (var section in sections.Where(s => s.Type == SectionTypeVersionDefinitions))
            {
                long definition = section.Offset;
                while (true)
                {
                    long aux = definition + U32(elf, definition + 12);
                    result.Add(ReadString(elf, sections[(int)section.Link], U32(elf, aux)));
                    uint next = U32(elf, definition + 16);
                    if (next == 0) break;
                    definition += next;
                }
            }
            return result;
        }

        /// <summary>
        /// Returns the version needs from <paramref name="neededFile"/> that the host lacks and that must be weakened
        /// for the library to load. Throws when such a version is actually used by a relocation, since weakening it
        /// would only move the failure from load time to call time.
        /// </summary>
        /// <exception cref="InvalidDataException">The file is not a well-formed ELF file, or a missing version is used.</exception>
        public static IReadOnlyList<ElfVersionNeed> PlanWeakening(byte[] elf, string neededFile, ISet<string> hostVersions)
        {
            var missing = ReadVersionNeeds(elf)
                .Where(n => n.File == neededFile && !n.IsWeak && !hostVersions.Contains(n.Version))
                .ToList();
            if (missing.Count == 0) return missing;

            var usedIndices = ReadRelocatedVersionIndices(elf);
            var used = missing.Where(n => usedIndices.Contains(n.Index)).Select(n => n.Version).ToList();
            if (used.Count > 0)
            {
                throw new InvalidDataException(
                    "The library needs " + string.Join(", ", used) + " from " + neededFile + " and relocations refer to " +
                    "symbols of that version, so it cannot be made to load by weakening the need; install a newer " +
                    neededFile + " or use a build of the library made for this distribution.");
            }
            return missing;
        }

        /// <summary>Sets <see cref="WeakFlag"/> on the given needs; touches no other byte. Idempotent.</summary>
        public static void MarkWeak(byte[] elf, IEnumerable<ElfVersionNeed> needs)
        {
            foreach (var need in needs)
            {
                ushort flags = (ushort)(U16(elf, need.FlagsOffset) | WeakFlag);
                elf[need.FlagsOffset] = (byte)flags;
                elf[need.FlagsOffset + 1] = (byte)(flags >> 8);
            }
        }

        /// <summary>The version indices (.gnu.version values) of every symbol that a relocation refers to.</summary>
        public static ISet<ushort> ReadRelocatedVersionIndices(byte[] elf)
        {
            var sections = ReadSections(elf);
            var versionSymbols = sections.FirstOrDefault(s => s.Type == SectionTypeVersionSymbols);
            var result = new HashSet<ushort>();
            if (versionSymbols == null) return result;
            foreach (var section in sections.Where(s => s.Type == SectionTypeRela || s.Type == SectionTypeRel))
            {
                // Only relocations against the symbol table that .gnu.version describes carry versioned symbols.
                if (section.Link != versionSymbols.Link) continue;
                long entrySize = section.Type == SectionTypeRela ? 24 : 16;
                for (long entry = section.Offset; entry + entrySize <= section.Offset + section.Size; entry += entrySize)
                {
                    long symbol = (long)(U64(elf, entry + 8) >> 32);
                    if (symbol == 0) continue;
                    result.Add((ushort)(U16(elf, versionSymbols.Offset + 2 * symbol) & 0x7fff));
                }
            }
            return result;
        }

        /// <summary>
        /// Finds the libstdc++ the dynamic loader would pick on this host: the first directory of
        /// <see cref="LibrarySearchDirectories"/> that holds the file. Returns null where there is none.
        /// </summary>
        public static string? FindHostLibrary(string fileName)
        {
            string triplet = RuntimeInformation.OSArchitecture == Architecture.Arm64 ? "aarch64-linux-gnu" : "x86_64-linux-gnu";
            return LibrarySearchDirectories(Environment.GetEnvironmentVariable("LD_LIBRARY_PATH"), "/etc/ld.so.conf", triplet)
                .Select(d => Path.Combine(d, fileName))
                .FirstOrDefault(System.IO.File.Exists);
        }

        /// <summary>
        /// The directories the dynamic loader searches for a library that has no slash in its name, in its order:
        /// LD_LIBRARY_PATH, then the directories of ld.so.conf and the files it includes (from which ldconfig builds
        /// ld.so.cache), then the default system directories. Duplicates are kept at their first place.
        /// </summary>
        public static IReadOnlyList<string> LibrarySearchDirectories(string? ldLibraryPath, string ldSoConf, string triplet)
        {
            var fromEnvironment = (ldLibraryPath ?? "").Split(new[] { ':', ';' }, StringSplitOptions.RemoveEmptyEntries);
            var defaults = new[] { "/lib/" + triplet, "/usr/lib/" + triplet, "/lib64", "/usr/lib64", "/lib", "/usr/lib" };
            return fromEnvironment.Concat(ReadLdSoConf(ldSoConf)).Concat(defaults).Distinct(StringComparer.Ordinal).ToList();
        }

        /// <summary>
        /// The library directories listed by an ld.so.conf file, following its <c>include</c> lines (glob patterns,
        /// relative ones taken from the including file's directory, matches in sorted order) as ldconfig does. Comments,
        /// <c>hwcap</c> lines and relative directories are skipped; a missing or unreadable file yields nothing.
        /// </summary>
        public static IReadOnlyList<string> ReadLdSoConf(string path)
        {
            var result = new List<string>();
            ReadLdSoConf(path, result, new HashSet<string>(StringComparer.Ordinal));
            return result;
        }

        private static void ReadLdSoConf(string path, List<string> result, HashSet<string> visited)
        {
            if (!visited.Add(Path.GetFullPath(path))) return; // an include cycle
            string[] lines;
            try
            {
                lines = System.IO.File.ReadAllLines(path);
            }
            catch (Exception e) when (e is IOException || e is UnauthorizedAccessException)
            {
                return;
            }
            string directory = Path.GetDirectoryName(Path.GetFullPath(path)) ?? "/";
            foreach (string raw in lines)
            {
                int comment = raw.IndexOf('#');
                string line = (comment >= 0 ? raw.Substring(0, comment) : raw).Trim();
                if (line.Length == 0) continue;
                if (StartsWithKeyword(line, "include"))
                {
                    var patterns = line.Substring("include".Length).Split(new[] { ' ', '\t' }, StringSplitOptions.RemoveEmptyEntries);
                    foreach (string pattern in patterns)
                        foreach (string included in ExpandGlob(pattern.StartsWith("/") ? pattern : Path.Combine(directory, pattern)))
                            ReadLdSoConf(included, result, visited);
                }
                else if (!StartsWithKeyword(line, "hwcap"))
                {
                    int type = line.IndexOf('='); // legacy "directory=library type" entries
                    string entry = (type >= 0 ? line.Substring(0, type) : line).TrimEnd();
                    if (entry.Length > 1) entry = entry.TrimEnd('/');
                    if (entry.StartsWith("/")) result.Add(entry);
                }
            }
        }

        private static bool StartsWithKeyword(string line, string keyword) =>
            line.StartsWith(keyword, StringComparison.Ordinal) && line.Length > keyword.Length && char.IsWhiteSpace(line[keyword.Length]);

        /// <summary>Expands a glob whose wildcards (* and ?) are in the last path component only; files only, sorted.</summary>
        private static IEnumerable<string> ExpandGlob(string pattern)
        {
            string name = Path.GetFileName(pattern);
            string? directory = Path.GetDirectoryName(pattern);
            if (name.IndexOfAny(new[] { '*', '?' }) < 0) return System.IO.File.Exists(pattern) ? new[] { pattern } : new string[0];
            if (directory == null || !Directory.Exists(directory)) return new string[0];
            try
            {
                return Directory.GetFiles(directory, name).OrderBy(f => f, StringComparer.Ordinal).ToList();
            }
            catch (Exception e) when (e is IOException || e is UnauthorizedAccessException)
            {
                return new string[0];
            }
        }

        private sealed class Section
        {
            public uint Type;
            public long Offset;
            public long Size;
            public uint Link;
        }

        private static List<Section> ReadSections(byte[] elf)
        {
            if (elf.Length < 64 || elf[0] != 0x7f || elf[1] != (byte)'E' || elf[2] != (byte)'L' || elf[3] != (byte)'F')
                throw new InvalidDataException("Not an ELF file (bad magic number).");
            if (elf[4] != 2 || elf[5] != 1)
                throw new InvalidDataException("Only 64-bit little-endian ELF files are supported (class " + elf[4] + ", data " + elf[5] + ").");
            long tableOffset = (long)U64(elf, 0x28);
            int entrySize = U16(elf, 0x3a);
            long count = U16(elf, 0x3c);
            if (tableOffset == 0 || entrySize < 64)
                throw new InvalidDataException("The ELF file has no section header table.");
            if (count == 0) count = (long)U64(elf, tableOffset + 32); // extended numbering: count lives in section 0
            var sections = new List<Section>();
            for (long i = 0; i < count; i++)
            {
                long header = tableOffset + i * entrySize;
                var section = new Section
                {
                    Type = U32(elf, header + 4),
                    Offset = (long)U64(elf, header + 24),
                    Size = (long)U64(elf, header + 32),
                    Link = U32(elf, header + 40),
                };
                if (section.Type != 8 /* SHT_NOBITS */ && section.Offset + section.Size > elf.Length)
                    throw new InvalidDataException("Section " + i + " lies outside the file (truncated ELF file?).");
                sections.Add(section);
            }
            return sections;
        }

        private static string ReadString(byte[] elf, Section strings, uint offset)
        {
            long start = strings.Offset + offset;
            long end = start;
            while (end < strings.Offset + strings.Size && elf[end] != 0) end++;
            if (end >= strings.Offset + strings.Size) throw new InvalidDataException("Unterminated string in the ELF string table.");
            return Encoding.ASCII.GetString(elf, (int)start, (int)(end - start));
        }

        private static void Check(byte[] elf, long offset, int size)
        {
            if (offset < 0 || offset + size > elf.Length)
                throw new InvalidDataException("Offset " + offset + " lies outside the file (truncated or damaged ELF file).");
        }

        private static ushort U16(byte[] b, long o) { Check(b, o, 2); return (ushort)(b[o] | b[o + 1] << 8); }

        private static uint U32(byte[] b, long o) { Check(b, o, 4); return (uint)(b[o] | b[o + 1] << 8 | b[o + 2] << 16 | b[o + 3] << 24); }

        private static ulong U64(byte[] b, long o) => U32(b, o) | (ulong)U32(b, o + 4) << 32;
    }

    /// <summary>
    /// Patches one library file in place, or writes a patched copy of it; always through a temporary file, so a hard link
    /// is never written through.
    /// </summary>
    public static class NativeLoadFix
    {
        /// <summary>The library whose version needs are checked against the host.</summary>
        public const string NeededLibrary = "libstdc++.so.6";

        /// <summary>
        /// Weakens the version needs of <paramref name="path"/> that the host's libstdc++ lacks. Returns the weakened
        /// version names (empty when nothing was needed, in which case the file is left untouched).
        /// </summary>
        /// <exception cref="FileNotFoundException">The library does not exist.</exception>
        /// <exception cref="InvalidDataException">The library or the host's libstdc++ cannot be parsed, or cannot be fixed.</exception>
        public static IReadOnlyList<string> Apply(string path, ISet<string> hostVersions)
        {
            var needs = Plan(path, hostVersions, out byte[] elf);
            if (needs.Count == 0) return new string[0];

            ElfVersionNeeds.MarkWeak(elf, needs);
            // The output copy may be a hard link into the NuGet cache, whose content must never change: Replace writes a
            // new file. The timestamp is kept so incremental copies still skip the file.
            Replace(path, elf, System.IO.File.GetLastWriteTimeUtc(path));
            return needs.Select(n => n.Version).ToList();
        }

        /// <summary>
        /// How much later than its source a copy made by <see cref="WritePatchedCopy"/> is stamped. The copy is meant to
        /// replace, in a referencing project's output, the package's own file that MSBuild copies there first; a copy with
        /// the source's timestamp would look up to date and be skipped, while a later one wins every incremental copy.
        /// </summary>
        public static readonly TimeSpan CopyTimestampOffset = TimeSpan.FromSeconds(2);

        /// <summary>
        /// Writes to <paramref name="destination"/> a copy of <paramref name="source"/> whose version needs that the host
        /// lacks are weakened, stamped <see cref="CopyTimestampOffset"/> after the source. Returns the weakened version
        /// names; when there are none, no copy is wanted, and a stale one at <paramref name="destination"/> is deleted.
        /// The destination is only rewritten when its bytes or timestamp differ (<paramref name="written"/> tells).
        /// </summary>
        /// <exception cref="FileNotFoundException">The source does not exist.</exception>
        /// <exception cref="InvalidDataException">The source cannot be parsed, or cannot be fixed.</exception>
        public static IReadOnlyList<string> WritePatchedCopy(string source, string destination, ISet<string> hostVersions, out bool written)
        {
            written = false;
            var needs = Plan(source, hostVersions, out byte[] elf);
            if (needs.Count == 0)
            {
                if (System.IO.File.Exists(destination)) System.IO.File.Delete(destination);
                return new string[0];
            }

            ElfVersionNeeds.MarkWeak(elf, needs);
            DateTime stamp = System.IO.File.GetLastWriteTimeUtc(source) + CopyTimestampOffset;
            bool current = System.IO.File.Exists(destination) && System.IO.File.GetLastWriteTimeUtc(destination) == stamp &&
                new FileInfo(destination).Length == elf.Length && System.IO.File.ReadAllBytes(destination).SequenceEqual(elf);
            if (!current)
            {
                Directory.CreateDirectory(Path.GetDirectoryName(Path.GetFullPath(destination))!);
                Replace(destination, elf, stamp);
                written = true;
            }
            return needs.Select(n => n.Version).ToList();
        }

        // Reads a library and plans its patch; the errors name the file.
        private static IReadOnlyList<ElfVersionNeed> Plan(string path, ISet<string> hostVersions, out byte[] elf)
        {
            if (!System.IO.File.Exists(path))
                throw new FileNotFoundException("The native library to patch was not found at '" + path + "'.", path);
            elf = System.IO.File.ReadAllBytes(path);
            try
            {
                return ElfVersionNeeds.PlanWeakening(elf, NeededLibrary, hostVersions);
            }
            catch (InvalidDataException e)
            {
                throw new InvalidDataException("Cannot patch '" + path + "': " + e.Message, e);
            }
        }

        // Writes a sibling file and renames it over the path: never writes through a hard link, never leaves half a file.
        private static void Replace(string path, byte[] content, DateTime lastWriteUtc)
        {
            string temporary = path + ".cliptrainer-tmp";
            System.IO.File.WriteAllBytes(temporary, content);
            System.IO.File.SetLastWriteTimeUtc(temporary, lastWriteUtc);
            if (System.IO.File.Exists(path)) System.IO.File.Delete(path);
            System.IO.File.Move(temporary, path);
        }

        /// <summary>The versions the host's libstdc++ defines, or null when the host has none that can be found.</summary>
        /// <exception cref="InvalidDataException">The host's libstdc++ cannot be parsed.</exception>
        public static ISet<string>? ReadHostVersions()
        {
            string? host = ElfVersionNeeds.FindHostLibrary(NeededLibrary);
            if (host == null) return null;
            try
            {
                return ElfVersionNeeds.ReadVersionDefinitions(System.IO.File.ReadAllBytes(host));
            }
            catch (InvalidDataException e)
            {
                throw new InvalidDataException("Cannot read the host's " + host + ": " + e.Message, e);
            }
        }
    }

#if !CLIPTRAINER_ELF_ONLY
    /// <summary>
    /// MSBuild task: applies <see cref="NativeLoadFix"/> to libLibTorchSharp.so, either in place to output copies
    /// (<see cref="Files"/>) or by writing patched copies (<see cref="SourceFiles"/> to <see cref="DestinationFiles"/>).
    /// </summary>
    public sealed class PatchLibTorchSharpForHost : Microsoft.Build.Utilities.Task
    {
        /// <summary>Output copies to patch in place.</summary>
        public Microsoft.Build.Framework.ITaskItem[] Files { get; set; } = new Microsoft.Build.Framework.ITaskItem[0];

        /// <summary>Libraries to write patched copies of, never changed themselves (e.g. the NuGet cache's file).</summary>
        public Microsoft.Build.Framework.ITaskItem[] SourceFiles { get; set; } = new Microsoft.Build.Framework.ITaskItem[0];

        /// <summary>Where each of <see cref="SourceFiles"/> is copied to, pairwise.</summary>
        public Microsoft.Build.Framework.ITaskItem[] DestinationFiles { get; set; } = new Microsoft.Build.Framework.ITaskItem[0];

        /// <summary>The <see cref="DestinationFiles"/> that hold a patched copy (none where the host needs no patch).</summary>
        [Microsoft.Build.Framework.Output]
        public Microsoft.Build.Framework.ITaskItem[] CopiedFiles { get; set; } = new Microsoft.Build.Framework.ITaskItem[0];

        /// <inheritdoc />
        public override bool Execute()
        {
            if (SourceFiles.Length != DestinationFiles.Length)
            {
                Log.LogError("ClipTrainer: " + SourceFiles.Length + " source files but " + DestinationFiles.Length + " destination files.");
                return false;
            }
            if (!RuntimeInformation.IsOSPlatform(OSPlatform.Linux)) return true;
            ISet<string>? host;
            try
            {
                host = NativeLoadFix.ReadHostVersions();
            }
            catch (InvalidDataException e)
            {
                Log.LogError("ClipTrainer: " + e.Message);
                return false;
            }
            if (host == null)
            {
                Log.LogWarning("ClipTrainer: no " + NativeLoadFix.NeededLibrary + " found on this host; libLibTorchSharp.so left as shipped.");
                return true;
            }
            ISet<string> hostVersions = host;
            foreach (var item in Files)
            {
                Report(item.ItemSpec, Guarded(() => NativeLoadFix.Apply(item.ItemSpec, hostVersions)), written: true);
            }
            var copied = new List<Microsoft.Build.Framework.ITaskItem>();
            for (int i = 0; i < SourceFiles.Length; i++)
            {
                string source = SourceFiles[i].ItemSpec, destination = DestinationFiles[i].ItemSpec;
                bool written = false;
                var weakened = Guarded(() => NativeLoadFix.WritePatchedCopy(source, destination, hostVersions, out written));
                Report(destination, weakened, written);
                if (weakened.Count > 0) copied.Add(DestinationFiles[i]);
            }
            CopiedFiles = copied.ToArray();
            return !Log.HasLoggedErrors;
        }

        // Runs one patch; an error is logged and counts as nothing weakened.
        private IReadOnlyList<string> Guarded(Func<IReadOnlyList<string>> patch)
        {
            try
            {
                return patch();
            }
            catch (Exception e) when (e is IOException || e is InvalidDataException || e is UnauthorizedAccessException)
            {
                Log.LogError("ClipTrainer: " + e.Message);
                return new string[0];
            }
        }

        // Says which versions were weakened: in the normal build output when the file was written, in detail otherwise.
        private void Report(string path, IReadOnlyList<string> weakened, bool written)
        {
            if (weakened.Count == 0) return;
            Log.LogMessage(written ? Microsoft.Build.Framework.MessageImportance.High : Microsoft.Build.Framework.MessageImportance.Low,
                "ClipTrainer: marked " + string.Join(", ", weakened) + " weak in " + path +
                " (this host's " + NativeLoadFix.NeededLibrary + " lacks it and nothing calls it).");
        }
    }
#endif
}
