using StoryDream.AppHost.Dashboard.Otlp;

namespace StoryDream.Tests.AppHost;

public sealed class OtlpDecoderTests
{
    [Theory]
    [InlineData(new byte[] { 0x0A, 0x05, 0x01 })]                   // field 1, length 5, but only 1 byte follows
    [InlineData(new byte[] { 0x0A, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x01 })] // varint too long
    [InlineData(new byte[] { 0x00 })]                               // field number 0
    [InlineData(new byte[] { 0x0B })]                               // wire type 3 (groups) is not supported
    public void DecodeTraces_Malformed_ThrowsFormatException(byte[] request)
    {
        Assert.Throws<FormatException>(() => OtlpDecoder.DecodeTraces(request));
    }

    [Fact]
    public void DecodeTraces_Empty_HasNoSpans()
    {
        Assert.Empty(OtlpDecoder.DecodeTraces([]));
    }

    [Fact]
    public void DecodeLogs_OneRecord_ReadsServiceSeverityBodyAndTrace()
    {
        var traceId = Enumerable.Range(1, 16).Select(i => (byte)i).ToArray();
        var record = Message(
            Fixed64(1, 1_700_000_000_000_000_000UL),
            Varint(2, 17),
            Bytes(5, Bytes(1, "it failed"u8.ToArray())),
            Bytes(9, traceId));
        var request = Bytes(1, Message(
            Bytes(1, Bytes(1, Message(Bytes(1, "service.name"u8.ToArray()), Bytes(2, Bytes(1, "api"u8.ToArray()))))),
            Bytes(2, Bytes(2, record))));

        var log = Assert.Single(OtlpDecoder.DecodeLogs(request));

        Assert.Equal("api", log.Service);
        Assert.Equal("Error", log.Severity);
        Assert.Equal("it failed", log.Message);
        Assert.Equal(Convert.ToHexStringLower(traceId), log.TraceId);
        Assert.Equal(DateTimeOffset.FromUnixTimeSeconds(1_700_000_000), log.Timestamp);
    }

    private static byte[] Message(params byte[][] fields) => [.. fields.SelectMany(f => f)];

    private static byte[] Bytes(int field, byte[] value) => [.. Tag(field, 2), .. VarintBytes((ulong)value.Length), .. value];

    private static byte[] Varint(int field, ulong value) => [.. Tag(field, 0), .. VarintBytes(value)];

    private static byte[] Fixed64(int field, ulong value) => [.. Tag(field, 1), .. BitConverter.GetBytes(value)];

    private static byte[] Tag(int field, int wireType) => VarintBytes((ulong)((field << 3) | wireType));

    private static byte[] VarintBytes(ulong value)
    {
        var bytes = new List<byte>();
        do
        {
            var b = (byte)(value & 0x7F);
            value >>= 7;
            bytes.Add(value == 0 ? b : (byte)(b | 0x80));
        }
        while (value != 0);
        return [.. bytes];
    }
}
