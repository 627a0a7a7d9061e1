using System.Text.Json;

namespace StoryDream.SessionGateway.Models;

/// <summary>
/// Reads the usage of a Messages API answer from the bytes as they pass. In a stream (SSE) it is
/// <c>message_start.message.usage</c> (input and cache tokens) and the last <c>message_delta.usage.output_tokens</c>
/// (cumulative); in a plain answer, its <c>usage</c>. Only the lines that carry usage are parsed.
/// </summary>
internal sealed class UsageReader(bool streaming) : IDisposable
{
    private const int MaxLineBytes = 1024 * 1024;
    private const int MaxPlainBytes = 4 * 1024 * 1024;
    private readonly MemoryStream _pending = new();
    private long _input;
    private long _output;
    private long _cacheCreation;
    private long _cacheRead;
    private bool _seen;
    private bool _overlong;

    public void Feed(ReadOnlySpan<byte> chunk)
    {
        if (!streaming)
        {
            if (_pending.Length + chunk.Length <= MaxPlainBytes) { _pending.Write(chunk); }
            return;
        }
        // Only whole lines are read; the unfinished last one waits in _pending for the next chunk.
        var lastNewline = chunk.LastIndexOf((byte)'\n');
        if (lastNewline < 0)
        {
            Keep(chunk);
            return;
        }
        var lines = chunk[..lastNewline];
        if (_pending.Length > 0 || _overlong)
        {
            var first = lines.IndexOf((byte)'\n') is var end and >= 0 ? end : lines.Length;
            Keep(lines[..first]);
            if (!_overlong) { Line(_pending.GetBuffer().AsSpan(0, (int)_pending.Length)); }
            _pending.SetLength(0);
            _overlong = false;
            lines = first < lines.Length ? lines[(first + 1)..] : [];
        }
        // Usage rides only on message_start and message_delta, so only lines naming a "message_... type are read: the
        // bulk of a stream, content deltas, is searched once and never split into lines (a quote in their text is
        // escaped, so it can only cost a look at its line).
        while (lines.IndexOf("\"message_"u8) is var at and >= 0)
        {
            var lineStart = lines[..at].LastIndexOf((byte)'\n') + 1;
            var lineEnd = lines[at..].IndexOf((byte)'\n') is var after and >= 0 ? at + after : lines.Length;
            Line(lines[lineStart..lineEnd]);
            lines = lineEnd < lines.Length ? lines[(lineEnd + 1)..] : [];
        }
        Keep(chunk[(lastNewline + 1)..]);
    }

    /// <summary>Part of a line that continues in a later chunk; a line that outgrows the limit is dropped, not read.</summary>
    private void Keep(ReadOnlySpan<byte> part)
    {
        if (_overlong) { return; }
        if (_pending.Length + part.Length <= MaxLineBytes) { _pending.Write(part); }
        else { _overlong = true; }
    }

    public void Dispose() => _pending.Dispose();

    /// <summary>The usage seen, or null when the answer carried none (an error, a broken stream before message_start).</summary>
    public TokenUsage? Finish()
    {
        if (!streaming && _pending.Length > 0) { Read(_pending.GetBuffer().AsSpan(0, (int)_pending.Length), plain: true); }
        return _seen ? new TokenUsage(_input, _output, _cacheCreation, _cacheRead) : null;
    }

    private void Line(ReadOnlySpan<byte> line)
    {
        if (!line.StartsWith("data:"u8)) { return; }
        var data = line[5..].TrimStart((byte)' ').TrimEnd((byte)'\r');
        // Cheap filter: content deltas, the bulk of a stream, are never parsed.
        if (data.IndexOf("\"message_start\""u8) < 0 && data.IndexOf("\"message_delta\""u8) < 0) { return; }
        Read(data, plain: false);
    }

    private void Read(ReadOnlySpan<byte> json, bool plain)
    {
        try
        {
            using var document = JsonDocument.Parse(json.ToArray());
            var root = document.RootElement;
            if (plain)
            {
                if (root.TryGetProperty("usage", out var usage)) { Take(usage); }
                return;
            }
            switch (root.TryGetProperty("type", out var type) ? type.GetString() : null)
            {
                case "message_start" when root.TryGetProperty("message", out var message) && message.TryGetProperty("usage", out var start):
                    Take(start);
                    break;
                case "message_delta" when root.TryGetProperty("usage", out var delta):
                    // Cumulative: the last one wins.
                    if (delta.TryGetProperty("output_tokens", out var output) && output.TryGetInt64(out var total)) { _output = total; _seen = true; }
                    break;
            }
        }
        catch (JsonException)
        {
            // Not usage we can read; the answer still passed through untouched.
        }
    }

    private void Take(JsonElement usage)
    {
        _seen = true;
        _input = Number(usage, "input_tokens");
        _cacheCreation = Number(usage, "cache_creation_input_tokens");
        _cacheRead = Number(usage, "cache_read_input_tokens");
        _output = Number(usage, "output_tokens");
    }

    private static long Number(JsonElement usage, string name) =>
        usage.ValueKind == JsonValueKind.Object && usage.TryGetProperty(name, out var value) && value.TryGetInt64(out var number) ? number : 0;
}
