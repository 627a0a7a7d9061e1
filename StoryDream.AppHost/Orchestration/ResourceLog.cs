namespace StoryDream.AppHost.Orchestration;

internal sealed record LogLine(long Sequence, DateTimeOffset Timestamp, bool IsError, string Text);

/// <summary>The last lines a resource printed, numbered so a reader can ask for what came after line N.</summary>
internal sealed class ResourceLog(int capacity = 5000)
{
    private readonly Queue<LogLine> _lines = new();
    private readonly Lock _lock = new();
    private long _next = 1;

    public void Add(DateTimeOffset timestamp, bool isError, string text)
    {
        lock (_lock)
        {
            _lines.Enqueue(new LogLine(_next++, timestamp, isError, text));
            while (_lines.Count > capacity) { _lines.Dequeue(); }
        }
    }

    public IReadOnlyList<LogLine> After(long sequence, int max = 1000)
    {
        lock (_lock)
        {
            return [.. _lines.Where(l => l.Sequence > sequence).Take(max)];
        }
    }

    public IReadOnlyList<LogLine> Last(int count)
    {
        lock (_lock)
        {
            return [.. _lines.Skip(Math.Max(0, _lines.Count - count))];
        }
    }
}
