using System.Buffers.Binary;
using System.IO.Compression;

namespace ClipTrainer.Samples.Tasks;

/// <summary>
/// Reads an IDX file of unsigned bytes (the format of MNIST and Fashion-MNIST), gzip-compressed as the data sets ship
/// it: two zero bytes, the type code <c>0x08</c> (unsigned byte), the number of dimensions, each dimension as a
/// big-endian 32-bit integer, then the values in row-major order.
/// </summary>
internal static class IdxFile
{
    /// <summary>The type code of unsigned-byte data, the only type the Fashion-MNIST files use.</summary>
    public const byte UnsignedByteType = 0x08;

    /// <summary>Reads a gzip-compressed IDX file of unsigned bytes.</summary>
    /// <param name="path">The <c>.gz</c> file.</param>
    /// <returns>The dimensions and the values (as many as the product of the dimensions).</returns>
    /// <exception cref="FileNotFoundException">The file does not exist.</exception>
    /// <exception cref="InvalidDataException">
    /// The file is not gzip, its magic number is not that of unsigned-byte IDX data, a dimension is not positive, or it
    /// holds fewer or more values than its dimensions promise; the message names the file and what was found.
    /// </exception>
    public static (int[] Dimensions, byte[] Values) Read(string path)
    {
        if (!File.Exists(path)) throw new FileNotFoundException($"The IDX file '{path}' does not exist.", path);
        byte[] content;
        try
        {
            using var gzip = new GZipStream(File.OpenRead(path), CompressionMode.Decompress);
            using var buffer = new MemoryStream();
            gzip.CopyTo(buffer);
            content = buffer.ToArray();
        }
        catch (InvalidDataException exception)
        {
            // GZipStream's own message does not say which file or what to do.
            throw new InvalidDataException($"'{path}' is not a readable gzip file ({exception.Message}). Reinstall the data set.", exception);
        }
        return Parse(content, path);
    }

    /// <summary>Parses the decompressed bytes of an IDX file of unsigned bytes.</summary>
    /// <param name="content">The whole decompressed file.</param>
    /// <param name="path">The file, for messages.</param>
    /// <returns>The dimensions and the values.</returns>
    /// <exception cref="InvalidDataException">The header or the length is not that of unsigned-byte IDX data.</exception>
    public static (int[] Dimensions, byte[] Values) Parse(ReadOnlySpan<byte> content, string path)
    {
        if (content.Length < 4) throw Damaged(path, $"it holds {content.Length} bytes, fewer than the 4-byte magic number");
        if (content[0] != 0 || content[1] != 0 || content[2] != UnsignedByteType || content[3] == 0)
            throw Damaged(path, $"its magic number is 0x{BinaryPrimitives.ReadUInt32BigEndian(content):X8}, expected 0x000008NN (unsigned bytes, NN ≥ 1 dimensions)");

        var dimensions = new int[content[3]];
        int header = 4 + 4 * dimensions.Length;
        if (content.Length < header)
            throw Damaged(path, $"it holds {content.Length} bytes, fewer than the {header}-byte header of {dimensions.Length} dimensions");
        long count = 1;
        for (int d = 0; d < dimensions.Length; d++)
        {
            dimensions[d] = BinaryPrimitives.ReadInt32BigEndian(content[(4 + 4 * d)..]);
            if (dimensions[d] <= 0) throw Damaged(path, $"dimension {d + 1} is {dimensions[d]}, expected a positive size");
            count *= dimensions[d];
            if (count > Array.MaxLength) throw Damaged(path, $"its dimensions promise more than {Array.MaxLength} values");
        }

        long actual = content.Length - header;
        if (actual != count)
            throw Damaged(path, $"dimensions [{string.Join(", ", dimensions)}] promise {count} values, the file holds {actual}");
        return (dimensions, content[header..].ToArray());
    }

    private static InvalidDataException Damaged(string path, string problem) =>
        new($"'{path}' is not a valid IDX file: {problem}. Reinstall the data set.");
}
