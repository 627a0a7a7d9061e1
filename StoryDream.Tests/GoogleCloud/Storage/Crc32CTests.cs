using StoryDream.GoogleCloud.Storage;

namespace StoryDream.Tests.GoogleCloud.Storage;

public sealed class Crc32CTests
{
    [Theory]
    [InlineData("", 0x00000000u)]
    [InlineData("a", 0xC1D04330u)]
    [InlineData("123456789", 0xE3069283u)]
    [InlineData("The quick brown fox jumps over the lazy dog", 0x22620404u)]
    public void Compute_KnownInputs_GiveCastagnoliChecksums(string text, uint expected)
    {
        var bytes = System.Text.Encoding.ASCII.GetBytes(text);

        Assert.Equal(expected, Crc32C.Compute(bytes));
        Assert.Equal(expected, ~Crc32C.UpdateSoftware(~0u, bytes));
    }

    [Fact]
    public void Append_InPieces_EqualsOneShotAndTableFallback()
    {
        var bytes = new byte[10_000];
        new Random(42).NextBytes(bytes);
        var crc = new Crc32C();
        for (var offset = 0; offset < bytes.Length;)
        {
            var length = Math.Min(1 + (offset * 7 % 61), bytes.Length - offset);
            crc.Append(bytes.AsSpan(offset, length));
            offset += length;
        }

        Assert.Equal(Crc32C.Compute(bytes), crc.Value);
        Assert.Equal(~Crc32C.UpdateSoftware(~0u, bytes), crc.Value);
    }

    [Fact]
    public void Base64_RoundTrips_InCloudStorageByteOrder()
    {
        var encoded = Crc32C.ToBase64(0xE3069283u);

        Assert.Equal(Convert.ToBase64String([0xE3, 0x06, 0x92, 0x83]), encoded);
        Assert.True(Crc32C.TryParseBase64(encoded, out var parsed));
        Assert.Equal(0xE3069283u, parsed);
        Assert.False(Crc32C.TryParseBase64("not base64!", out _));
        Assert.False(Crc32C.TryParseBase64(Convert.ToBase64String(new byte[16]), out _));
    }
}
