using System.Buffers.Binary;
using System.Globalization;
using System.Net;
using System.Numerics;
using Google.Protobuf;
using Tensorboard;

namespace ClipTrainer.Training;

/// <summary>
/// One TensorBoard event file, written directly rather than through TorchSharp's <c>SummaryWriter</c>: serialized
/// <c>Tensorboard.Event</c> messages (TorchSharp's generated types) in TFRecord framing — the data's length as u64
/// little-endian, the masked CRC32C of those 8 bytes, the data, the masked CRC32C of the data — the first event
/// <c>file_version: "brain.Event:2"</c>, wall times in Unix seconds, through one stream kept open.
/// </summary>
/// <remarks>
/// Events are framed into a memory buffer and reach the file in one write per <see cref="Flush"/>, so a reader
/// (TensorBoard reads the file while it grows) sees whole records except, after a crash in the middle of a write, a
/// truncated last one, which TensorBoard's reader skips until it is complete. The file is created new (never
/// appended to or replaced) and named <c>events.out.tfevents.&lt;unix seconds&gt;.&lt;host&gt;.&lt;pid&gt;.&lt;n&gt;</c>
/// as TensorBoard's own writer names it.
/// </remarks>
internal sealed class TensorBoardEventFile : IDisposable
{
    public const string FileVersion = "brain.Event:2";

    private static int _filesCreated;
    private readonly FileStream _file;
    private readonly MemoryStream _buffer = new();
    private readonly byte[] _header = new byte[12];
    private readonly byte[] _footer = new byte[4];

    /// <summary>Creates the directory if needed and a new event file in it, and writes the file-version event.</summary>
    public TensorBoardEventFile(string directory)
    {
        System.IO.Directory.CreateDirectory(directory);
        var seconds = DateTimeOffset.UtcNow.ToUnixTimeSeconds();
        var number = Interlocked.Increment(ref _filesCreated);
        Path = System.IO.Path.Combine(directory, string.Create(CultureInfo.InvariantCulture,
            $"events.out.tfevents.{seconds:D10}.{Dns.GetHostName()}.{Environment.ProcessId}.{number}"));
        // Readers may open the file while it grows; nobody else may write to it.
        _file = new FileStream(Path, FileMode.CreateNew, FileAccess.Write, FileShare.Read);
        Write(new Event { WallTime = UnixNow(), FileVersion = FileVersion });
        Flush();
    }

    /// <summary>Gets the file's path.</summary>
    public string Path { get; }

    /// <summary>The current time in Unix seconds, with the clock's sub-second resolution.</summary>
    public static double UnixNow() => (DateTime.UtcNow - DateTime.UnixEpoch).TotalSeconds;

    /// <summary>Frames one event into the buffer (nothing reaches the file before <see cref="Flush"/>).</summary>
    public void Write(Event record)
    {
        var data = record.ToByteArray();
        BinaryPrimitives.WriteUInt64LittleEndian(_header, (ulong)data.Length);
        BinaryPrimitives.WriteUInt32LittleEndian(_header.AsSpan(8), MaskedCrc32C(_header.AsSpan(0, 8)));
        BinaryPrimitives.WriteUInt32LittleEndian(_footer, MaskedCrc32C(data));
        _buffer.Write(_header);
        _buffer.Write(data);
        _buffer.Write(_footer);
    }

    /// <summary>Writes the buffered records to the file in one write and hands them to the operating system.</summary>
    public void Flush()
    {
        if (_buffer.Length > 0)
        {
            _file.Write(_buffer.GetBuffer(), 0, (int)_buffer.Length);
            _buffer.SetLength(0);
        }

        _file.Flush();
    }

    /// <summary>Flushes and closes the file.</summary>
    public void Dispose()
    {
        try
        {
            Flush();
        }
        finally
        {
            _file.Dispose();
        }
    }

    /// <summary>TFRecord's masked CRC32C: the CRC rotated right by 15 bits plus 0xA282EAD8 (a CRC of data holding CRCs stays useful).</summary>
    internal static uint MaskedCrc32C(ReadOnlySpan<byte> data)
    {
        var crc = Crc32C(data);
        return ((crc >> 15) | (crc << 17)) + 0xA282EAD8u;
    }

    /// <summary>CRC-32C (Castagnoli), with the hardware instruction where there is one (<see cref="BitOperations.Crc32C(uint, ulong)"/>).</summary>
    internal static uint Crc32C(ReadOnlySpan<byte> data)
    {
        var crc = uint.MaxValue;
        for (; data.Length >= sizeof(ulong); data = data[sizeof(ulong)..])
            crc = BitOperations.Crc32C(crc, BinaryPrimitives.ReadUInt64LittleEndian(data));
        foreach (var b in data) crc = BitOperations.Crc32C(crc, b);
        return ~crc;
    }
}
