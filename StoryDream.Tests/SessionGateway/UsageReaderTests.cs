using System.Text;
using StoryDream.SessionGateway.Models;

namespace StoryDream.Tests.SessionGateway;

/// <summary>The model proxy's usage reader, fed a Messages API stream however its bytes are cut into reads.</summary>
public sealed class UsageReaderTests
{
    // A stream as the API writes it, with what must not be taken for usage: a text whose words look like a usage event
    // (escaped, as any quote in a JSON string is), an event spread over lines, pings, and an early cumulative output count.
    private const string Stream = """
        event: message_start
        data: {"type":"message_start","message":{"id":"msg_1","type":"message","role":"assistant","content":[],"usage":{"input_tokens":120,"cache_creation_input_tokens":5,"cache_read_input_tokens":7,"output_tokens":1}}}

        event: ping
        data: {"type": "ping"}

        event: content_block_delta
        data: {"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":"data: {\"type\":\"message_delta\",\"usage\":{\"output_tokens\":999}}"}}

        event: message_delta
        data: {"type":"message_delta","delta":{"stop_reason":null},"usage":{"output_tokens":10}}

        event: content_block_delta
        data: {"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":" \"message_start\" and more"}}

        event: message_delta
        data: {"type": "message_delta", "delta": {"stop_reason": "end_turn"}, "usage": {"output_tokens": 34}}

        event: message_stop
        data: {"type":"message_stop"}


        """;

    [Fact]
    public void Feed_StreamCutAtEveryByte_SameUsage()
    {
        var bytes = Encoding.UTF8.GetBytes(Stream);
        for (var cut = 0; cut <= bytes.Length; cut++)
        {
            Assert.Equal(new TokenUsage(120, 34, 5, 7), Read(bytes, [cut]));
        }
    }

    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    [InlineData(7)]
    [InlineData(64)]
    [InlineData(4096)]
    public void Feed_StreamInReadsOfAnySize_SameUsage(int size)
    {
        var bytes = Encoding.UTF8.GetBytes(Stream);
        Assert.Equal(new TokenUsage(120, 34, 5, 7), Read(bytes, [.. Enumerable.Range(1, bytes.Length / size).Select(i => i * size)]));
    }

    [Fact]
    public void Feed_CrLfLineEnds_SameUsage()
    {
        var bytes = Encoding.UTF8.GetBytes(Stream.ReplaceLineEndings("\r\n"));
        Assert.Equal(new TokenUsage(120, 34, 5, 7), Read(bytes, [bytes.Length / 2]));
    }

    [Fact]
    public void Feed_NoUsageEvent_NoUsage()
    {
        var bytes = Encoding.UTF8.GetBytes("""
            event: error
            data: {"type":"error","error":{"type":"overloaded_error","message":"the \"message_start\" never came"}}


            """);
        Assert.Null(Read(bytes, [10]));
    }

    [Fact]
    public void Feed_LineOverTheLimit_DroppedAndTheNextLinesRead()
    {
        // A usage line past the reader's 1 MiB line limit is dropped whole: not read as its start glued to its end.
        var overlong = Encoding.UTF8.GetBytes(
            $"data: {{\"type\":\"message_delta\",\"usage\":{{\"output_tokens\":999}},\"pad\":\"{new string('x', (1024 * 1024) + 10_000)}\"}}\n\n");
        var stream = Encoding.UTF8.GetBytes(Stream);

        // Its start fills the line buffer, its middle does not fit, its small end would.
        int[] cuts = [stream.Length + (1024 * 1024) - 100, stream.Length + overlong.Length - 10];
        Assert.Equal(new TokenUsage(120, 34, 5, 7), Read([.. stream, .. overlong], cuts));
        // And the lines after it are read as before, however the reads fall.
        byte[] after = [.. overlong, .. stream];
        Assert.Equal(new TokenUsage(120, 34, 5, 7), Read(after, [.. Enumerable.Range(1, after.Length / 4096).Select(i => i * 4096)]));
        Assert.Equal(new TokenUsage(120, 34, 5, 7), Read(after, [(1024 * 1024) + 50, overlong.Length + 80]));
    }

    [Fact]
    public void Feed_PlainAnswer_ItsUsage()
    {
        var bytes = Encoding.UTF8.GetBytes("""{"id":"msg_1","type":"message","content":[{"type":"text","text":"Hi"}],"usage":{"input_tokens":3,"output_tokens":2}}""");
        using var reader = new UsageReader(streaming: false);
        reader.Feed(bytes.AsSpan(0, 20));
        reader.Feed(bytes.AsSpan(20));
        Assert.Equal(new TokenUsage(3, 2, 0, 0), reader.Finish());
    }

    private static TokenUsage? Read(byte[] bytes, int[] cuts)
    {
        using var reader = new UsageReader(streaming: true);
        var start = 0;
        foreach (var cut in cuts.Append(bytes.Length))
        {
            reader.Feed(bytes.AsSpan(start, cut - start));
            start = cut;
        }
        return reader.Finish();
    }
}
