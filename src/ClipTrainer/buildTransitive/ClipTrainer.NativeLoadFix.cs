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
        /// Finds the libstdc++ the dynamic loader would pick on this host: LD_LIBRARY_PATH, then the usual system
        /// directories. Returns null where there is none.
        /// </summary>
        public static string? FindHostLibrary(string fileName)
        {
            string triplet = RuntimeInformation.OSArchitecture == Architecture.Arm64 ? "aarch64-linux-gnu" : "x86_64-linux-gnu";
            var directories = (Environment.GetEnvironmentVariable("LD_LIBRARY_PATH") ?? "")
                .Split(new[] { ':' }, StringSplitOptions.RemoveEmptyEntries)
                .Concat(new[] { "/lib/" + triplet, "/usr/lib/" + triplet, "/lib64", "/usr/lib64", "/lib", "/usr/lib" });
            return directories.Select(d => Path.Combine(d, fileName)).FirstOrDefault(System.IO.File.Exists);
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

    /// <summary>Patches one library file in place (through a temporary file, so a hard link is never written through).</summary>
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
            if (!System.IO.File.Exists(path))
                throw new FileNotFoundException("The native library to patch was not found at '" + path + "'.", path);
            byte[] elf = System.IO.File.ReadAllBytes(path);
            IReadOnlyList<ElfVersionNeed> needs;
            try
            {
                needs = ElfVersionNeeds.PlanWeakening(elf, NeededLibrary, hostVersions);
            }
            catch (InvalidDataException e)
            {
                throw new InvalidDataException("Cannot patch '" + path + "': " + e.Message, e);
            }
            if (needs.Count == 0) return new string[0];

            ElfVersionNeeds.MarkWeak(elf, needs);
            // Write a sibling file and rename it over the original: the output copy may be a hard link into the NuGet
            // cache, whose content must never change. The timestamp is kept so incremental copies still skip the file.
            DateTime lastWrite = System.IO.File.GetLastWriteTimeUtc(path);
            string temporary = path + ".cliptrainer-tmp";
            System.IO.File.WriteAllBytes(temporary, elf);
            System.IO.File.SetLastWriteTimeUtc(temporary, lastWrite);
            System.IO.File.Delete(path);
            System.IO.File.Move(temporary, path);
            return needs.Select(n => n.Version).ToList();
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
    /// <summary>MSBuild task: applies <see cref="NativeLoadFix"/> to each output copy of libLibTorchSharp.so.</summary>
    public sealed class PatchLibTorchSharpForHost : Microsoft.Build.Utilities.Task
    {
        /// <summary>The output copies to patch.</summary>
        [Microsoft.Build.Framework.Required]
        public Microsoft.Build.Framework.ITaskItem[] Files { get; set; } = new Microsoft.Build.Framework.ITaskItem[0];

        /// <inheritdoc />
        public override bool Execute()
        {
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
            foreach (var item in Files)
            {
                try
                {
                    var weakened = NativeLoadFix.Apply(item.ItemSpec, host);
                    if (weakened.Count > 0)
                    {
                        Log.LogMessage(Microsoft.Build.Framework.MessageImportance.High,
                            "ClipTrainer: marked " + string.Join(", ", weakened) + " weak in " + item.ItemSpec +
                            " (this host's " + NativeLoadFix.NeededLibrary + " lacks it and nothing calls it).");
                    }
                }
                catch (Exception e) when (e is IOException || e is InvalidDataException || e is UnauthorizedAccessException)
                {
                    Log.LogError("ClipTrainer: " + e.Message);
                }
            }
            return !Log.HasLoggedErrors;
        }
    }
#endif
}
