using Tensorboard;

namespace ClipTrainer.Tests.Training;

/// <summary>
/// An event-file reader written independently of the library's writer, as TensorBoard reads one: TFRecord framing
/// (u64 little-endian length, masked CRC32C of the length bytes, data, masked CRC32C of the data), both CRCs checked,
/// then each record parsed with the <c>Tensorboard.Event</c> parser TorchSharp ships. Debian has no TensorBoard
/// package, so this reader is the check that the files are well-formed.
/// </summary>
internal static class TensorBoardEventReader
{
    private const uint CastagnoliReflected = 0x82F63B78;

    /// <summary>CRC-32C bit by bit from the reflected Castagnoli polynomial (init and final xor 0xFFFFFFFF).</summary>
    public static uint Crc32C(ReadOnlySpan<byte> data)
    {
        var crc = 0xFFFFFFFFu;
        foreach (var b in data)
        {
            crc ^= b;
            for (var bit = 0; bit < 8; bit++) crc = (crc & 1) != 0 ? (crc >> 1) ^ CastagnoliReflected : crc >> 1;
        }

        return ~crc;
    }

    /// <summary>TFRecord's mask: rotate right by 15 bits, add 0xA282EAD8.</summary>
    public static uint Mask(uint crc) => ((crc >> 15) | (crc << 17)) + 0xA282EAD8u;

    /// <summary>Every event of the file, in order.</summary>
    /// <exception cref="InvalidDataException">A record is truncated or a CRC does not match.</exception>
    public static List<Event> ReadEvents(string path)
    {
        var bytes = File.ReadAllBytes(path);
        var events = new List<Event>();
        var at = 0;
        while (at < bytes.Length)
        {
            if (bytes.Length - at < 12) throw new InvalidDataException($"Truncated record header at byte {at}.");
            var length = BitConverter.ToUInt64(bytes, at);
            if (Mask(Crc32C(bytes.AsSpan(at, 8))) != BitConverter.ToUInt32(bytes, at + 8))
                throw new InvalidDataException($"Length CRC mismatch at byte {at}.");
            if ((ulong)(bytes.Length - at - 12) < length + 4) throw new InvalidDataException($"Truncated record data at byte {at}.");
            var data = bytes.AsSpan(at + 12, (int)length);
            if (Mask(Crc32C(data)) != BitConverter.ToUInt32(bytes, at + 12 + (int)length))
                throw new InvalidDataException($"Data CRC mismatch in the record at byte {at}.");
            // TorchSharp's generated types predate span parsing (ParseFrom(ReadOnlySpan) throws): parse from the array.
            events.Add(Event.Parser.ParseFrom(bytes, at + 12, (int)length));
            at += 12 + (int)length + 4;
        }

        return events;
    }

    /// <summary>Whether this process holds <paramref name="path"/> open (Linux: its /proc/self/fd links; elsewhere an exclusive open fails).</summary>
    public static bool IsOpenInThisProcess(string path)
    {
        var full = Path.GetFullPath(path);
        if (OperatingSystem.IsLinux())
        {
            return new DirectoryInfo("/proc/self/fd").EnumerateFileSystemInfos()
                .Any(link => { try { return link.LinkTarget == full; } catch (IOException) { return false; } });
        }

        try
        {
            using var exclusive = new FileStream(full, FileMode.Open, FileAccess.ReadWrite, FileShare.None);
            return false;
        }
        catch (IOException)
        {
            return true;
        }
    }
}
