using System.IO.Compression;
using ClipTrainer.Samples.Tasks;
using Xunit;

namespace ClipTrainer.Tests.Samples.Tasks;

/// <summary>The IDX reader on small files the test writes itself.</summary>
public sealed class IdxFileTests : IDisposable
{
    private readonly string _directory = Directory.CreateTempSubdirectory("idx-tests-").FullName;

    public void Dispose() => Directory.Delete(_directory, recursive: true);

    [Fact]
    public void Read_ReturnsDimensionsAndValues_OfAGzippedThreeDimensionalFile()
    {
        // Two images of 2 × 3: magic 00 00 08 03, dimensions 2, 2, 3 big-endian, then 12 values.
        byte[] values = [0, 1, 2, 3, 4, 5, 250, 251, 252, 253, 254, 255];
        var path = WriteGzip("images.gz", [0, 0, 8, 3, 0, 0, 0, 2, 0, 0, 0, 2, 0, 0, 0, 3, .. values]);

        var (dimensions, read) = IdxFile.Read(path);

        Assert.Equal([2, 2, 3], dimensions);
        Assert.Equal(values, read);
    }

    [Fact]
    public void Read_ReadsBigEndianDimensions_AboveOneByte()
    {
        // One dimension of 0x0102 = 258 labels.
        var labels = Enumerable.Range(0, 258).Select(i => (byte)(i % 10)).ToArray();
        var path = WriteGzip("labels.gz", [0, 0, 8, 1, 0, 0, 1, 2, .. labels]);

        var (dimensions, read) = IdxFile.Read(path);

        Assert.Equal([258], dimensions);
        Assert.Equal(labels, read);
    }

    [Theory]
    [InlineData(new byte[] { 0, 0, 0x0D, 1, 0, 0, 0, 1, 7 }, "magic number is 0x00000D01")]           // float data, not bytes
    [InlineData(new byte[] { 1, 0, 8, 1, 0, 0, 0, 1, 7 }, "magic number is 0x01000801")]
    [InlineData(new byte[] { 0, 0, 8, 0 }, "magic number is 0x00000800")]                              // no dimensions
    [InlineData(new byte[] { 0, 0, 8 }, "holds 3 bytes, fewer than the 4-byte magic number")]
    [InlineData(new byte[] { 0, 0, 8, 2, 0, 0, 0, 1 }, "fewer than the 12-byte header of 2 dimensions")]
    [InlineData(new byte[] { 0, 0, 8, 1, 0, 0, 0, 0 }, "dimension 1 is 0")]
    [InlineData(new byte[] { 0, 0, 8, 1, 0xFF, 0xFF, 0xFF, 0xFF }, "dimension 1 is -1")]
    [InlineData(new byte[] { 0, 0, 8, 2, 0, 0, 0, 2, 0, 0, 0, 2, 1, 2, 3 }, "promise 4 values, the file holds 3")]   // truncated
    [InlineData(new byte[] { 0, 0, 8, 1, 0, 0, 0, 2, 1, 2, 3 }, "promise 2 values, the file holds 3")]
    public void Read_Throws_NamingTheFileAndTheDamage(byte[] content, string damage)
    {
        var path = WriteGzip("damaged.gz", content);

        var exception = Assert.Throws<InvalidDataException>(() => IdxFile.Read(path));

        Assert.Contains($"'{path}' is not a valid IDX file", exception.Message);
        Assert.Contains(damage, exception.Message);
        Assert.Contains("Reinstall", exception.Message);
    }

    [Fact]
    public void Read_Throws_ForAFileThatIsNotGzip()
    {
        var path = Path.Combine(_directory, "plain.gz");
        File.WriteAllBytes(path, [0, 0, 8, 1, 0, 0, 0, 1, 7]);

        var exception = Assert.Throws<InvalidDataException>(() => IdxFile.Read(path));

        Assert.Contains($"'{path}' is not a readable gzip file", exception.Message);
    }

    [Fact]
    public void Read_Throws_ForAGzipFileCutShort()
    {
        var whole = File.ReadAllBytes(WriteGzip("whole.gz", [0, 0, 8, 1, 0, 0, 0, 200, .. new byte[200]]));
        var path = Path.Combine(_directory, "cut.gz");
        File.WriteAllBytes(path, whole[..(whole.Length / 2)]);

        var exception = Assert.Throws<InvalidDataException>(() => IdxFile.Read(path));

        Assert.Contains($"'{path}'", exception.Message);
    }

    [Fact]
    public void Read_Throws_FileNotFound_NamingTheFile()
    {
        var path = Path.Combine(_directory, "absent.gz");

        var exception = Assert.Throws<FileNotFoundException>(() => IdxFile.Read(path));

        Assert.Contains(path, exception.Message);
    }

    private string WriteGzip(string name, byte[] content)
    {
        var path = Path.Combine(_directory, name);
        using (var gzip = new GZipStream(File.Create(path), CompressionLevel.Fastest)) gzip.Write(content);
        return path;
    }
}
