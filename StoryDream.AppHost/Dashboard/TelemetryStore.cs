using System.Globalization;
using StoryDream.AppHost.Dashboard.Otlp;

namespace StoryDream.AppHost.Dashboard;

internal sealed record TraceSummary(string TraceId, string RootName, string RootService, IReadOnlyList<string> Services, DateTimeOffset Start, double DurationMs, int SpanCount, bool HasError);

internal sealed record ServiceMetrics(string Service, int Requests, double RequestsPerSecond, double ErrorRate, double P95Ms, int MetricExports);

/// <summary>The last spans and structured logs the services exported, in memory, bounded.</summary>
internal sealed class TelemetryStore(TimeProvider time, int capacity = 20_000)
{
    public static readonly TimeSpan MetricsWindow = TimeSpan.FromMinutes(5);
    private readonly Queue<SpanRecord> _spans = new();
    private readonly Queue<LogRecord> _logs = new();
    private readonly Dictionary<string, int> _metricExports = new(StringComparer.Ordinal);
    private readonly Lock _lock = new();

    public void Add(IEnumerable<SpanRecord> spans)
    {
        lock (_lock)
        {
            foreach (var span in spans) { _spans.Enqueue(span); }
            while (_spans.Count > capacity) { _spans.Dequeue(); }
        }
    }

    public void Add(IEnumerable<LogRecord> logs)
    {
        lock (_lock)
        {
            foreach (var log in logs) { _logs.Enqueue(log); }
            while (_logs.Count > capacity) { _logs.Dequeue(); }
        }
    }

    public void AddMetricExports(IEnumerable<string> services)
    {
        lock (_lock)
        {
            foreach (var service in services) { _metricExports[service] = _metricExports.GetValueOrDefault(service) + 1; }
        }
    }

    public IReadOnlyList<TraceSummary> RecentTraces(string? service, int limit)
    {
        List<SpanRecord> spans;
        lock (_lock) { spans = [.. _spans]; }
        return
        [
            .. spans.GroupBy(s => s.TraceId)
                .Where(g => service is null || g.Any(s => s.Service == service))
                .Select(Summarize)
                .OrderByDescending(t => t.Start)
                .Take(limit),
        ];
    }

    public IReadOnlyList<SpanRecord> Trace(string traceId)
    {
        lock (_lock) { return [.. _spans.Where(s => s.TraceId == traceId).OrderBy(s => s.Start)]; }
    }

    public IReadOnlyList<LogRecord> Logs(string? service, int minSeverity, string? text, int limit)
    {
        lock (_lock)
        {
            return
            [
                .. _logs.Where(l => (service is null || l.Service == service) && l.SeverityNumber >= minSeverity
                        && (string.IsNullOrEmpty(text) || l.Message.Contains(text, StringComparison.OrdinalIgnoreCase)))
                    .TakeLast(limit),
            ];
        }
    }

    /// <summary>Request rate, error rate and p95 latency per service, from its server spans over the last five minutes.</summary>
    public IReadOnlyList<ServiceMetrics> Metrics()
    {
        var since = time.GetUtcNow() - MetricsWindow;
        List<SpanRecord> spans;
        Dictionary<string, int> exports;
        lock (_lock)
        {
            spans = [.. _spans.Where(s => s.Kind == OtlpDecoder.ServerKind && s.Start >= since)];
            exports = new Dictionary<string, int>(_metricExports, StringComparer.Ordinal);
        }
        var services = spans.Select(s => s.Service).Concat(exports.Keys).Distinct(StringComparer.Ordinal).Order(StringComparer.Ordinal);
        return
        [
            .. services.Select(service =>
            {
                var requests = spans.Where(s => s.Service == service).ToList();
                var durations = requests.Select(s => s.DurationMs).Order().ToList();
                var errors = requests.Count(IsFailure);
                return new ServiceMetrics(
                    service, requests.Count, requests.Count / MetricsWindow.TotalSeconds,
                    requests.Count == 0 ? 0 : (double)errors / requests.Count,
                    durations.Count == 0 ? 0 : durations[Math.Min(durations.Count - 1, (int)Math.Ceiling(0.95 * durations.Count) - 1)],
                    exports.GetValueOrDefault(service));
            }),
        ];
    }

    private static bool IsFailure(SpanRecord span) =>
        span.IsError
        || (span.Attributes.TryGetValue("http.response.status_code", out var code)
            && int.TryParse(code, NumberStyles.None, CultureInfo.InvariantCulture, out var status) && status >= 500);

    private static TraceSummary Summarize(IGrouping<string, SpanRecord> trace)
    {
        var ids = trace.Select(s => s.SpanId).ToHashSet(StringComparer.Ordinal);
        var root = trace.Where(s => s.ParentSpanId is null || !ids.Contains(s.ParentSpanId)).MinBy(s => s.Start) ?? trace.First();
        var start = trace.Min(s => s.Start);
        var end = trace.Max(s => s.Start.AddMilliseconds(s.DurationMs));
        return new TraceSummary(trace.Key, root.Name, root.Service, [.. trace.Select(s => s.Service).Distinct(StringComparer.Ordinal)],
            start, (end - start).TotalMilliseconds, trace.Count(), trace.Any(IsFailure));
    }
}
