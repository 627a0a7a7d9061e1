using System.Globalization;

namespace StoryDream.AppHost.Dashboard.Otlp;

internal sealed record SpanRecord(
    string Service,
    string TraceId,
    string SpanId,
    string? ParentSpanId,
    string Name,
    int Kind,
    DateTimeOffset Start,
    double DurationMs,
    bool IsError,
    string? StatusMessage,
    IReadOnlyDictionary<string, string> Attributes);

internal sealed record LogRecord(
    string Service,
    DateTimeOffset Timestamp,
    string Severity,
    int SeverityNumber,
    string Message,
    string? TraceId,
    IReadOnlyDictionary<string, string> Attributes);

/// <summary>
/// Decodes OTLP/HTTP protobuf export requests (opentelemetry-proto v1: collector/trace, collector/logs,
/// collector/metrics) into what the dashboard shows. Field numbers are those of the .proto files.
/// </summary>
internal static class OtlpDecoder
{
    public const int ServerKind = 2;

    public static List<SpanRecord> DecodeTraces(ReadOnlySpan<byte> request)
    {
        var spans = new List<SpanRecord>();
        var reader = new ProtoReader(request);
        while (reader.Next())
        {
            if (reader.Field == 1 && reader.WireType == 2) { ReadResourceSpans(reader.ReadBytes(), spans); } else { reader.Skip(); }
        }
        return spans;
    }

    public static List<LogRecord> DecodeLogs(ReadOnlySpan<byte> request)
    {
        var logs = new List<LogRecord>();
        var reader = new ProtoReader(request);
        while (reader.Next())
        {
            if (reader.Field == 1 && reader.WireType == 2) { ReadResourceLogs(reader.ReadBytes(), logs); } else { reader.Skip(); }
        }
        return logs;
    }

    /// <summary>The services a metrics export came from (the dashboard's rates come from server spans).</summary>
    public static List<string> DecodeMetricServices(ReadOnlySpan<byte> request)
    {
        var services = new List<string>();
        var reader = new ProtoReader(request);
        while (reader.Next())
        {
            if (reader.Field != 1 || reader.WireType != 2) { reader.Skip(); continue; }
            var resourceMetrics = new ProtoReader(reader.ReadBytes());
            while (resourceMetrics.Next())
            {
                if (resourceMetrics.Field == 1 && resourceMetrics.WireType == 2) { services.Add(ServiceName(resourceMetrics.ReadBytes())); } else { resourceMetrics.Skip(); }
            }
        }
        return services;
    }

    private static void ReadResourceSpans(ReadOnlySpan<byte> data, List<SpanRecord> spans)
    {
        var service = "unknown";
        var scopes = new List<byte[]>();
        var reader = new ProtoReader(data);
        while (reader.Next())
        {
            switch (reader.Field, reader.WireType)
            {
                case (1, 2): service = ServiceName(reader.ReadBytes()); break;
                case (2, 2): scopes.Add(reader.ReadBytes().ToArray()); break;
                default: reader.Skip(); break;
            }
        }
        foreach (var scope in scopes)
        {
            var scopeReader = new ProtoReader(scope);
            while (scopeReader.Next())
            {
                if (scopeReader.Field == 2 && scopeReader.WireType == 2) { spans.Add(ReadSpan(scopeReader.ReadBytes(), service)); } else { scopeReader.Skip(); }
            }
        }
    }

    private static SpanRecord ReadSpan(ReadOnlySpan<byte> data, string service)
    {
        string traceId = "", spanId = "", name = "";
        string? parent = null, statusMessage = null;
        var kind = 0;
        ulong start = 0, end = 0;
        var isError = false;
        var attributes = new Dictionary<string, string>(StringComparer.Ordinal);
        var reader = new ProtoReader(data);
        while (reader.Next())
        {
            switch (reader.Field, reader.WireType)
            {
                case (1, 2): traceId = Convert.ToHexStringLower(reader.ReadBytes()); break;
                case (2, 2): spanId = Convert.ToHexStringLower(reader.ReadBytes()); break;
                case (4, 2): var p = reader.ReadBytes(); parent = p.IsEmpty ? null : Convert.ToHexStringLower(p); break;
                case (5, 2): name = reader.ReadString(); break;
                case (6, 0): kind = (int)reader.ReadVarint(); break;
                case (7, 1): start = reader.ReadFixed64(); break;
                case (8, 1): end = reader.ReadFixed64(); break;
                case (9, 2): ReadKeyValue(reader.ReadBytes(), attributes); break;
                case (15, 2): (isError, statusMessage) = ReadStatus(reader.ReadBytes()); break;
                default: reader.Skip(); break;
            }
        }
        return new SpanRecord(service, traceId, spanId, parent, name, kind, FromUnixNanos(start),
            end >= start ? (end - start) / 1_000_000.0 : 0, isError, statusMessage, attributes);
    }

    private static (bool IsError, string? Message) ReadStatus(ReadOnlySpan<byte> data)
    {
        string? message = null;
        var code = 0UL;
        var reader = new ProtoReader(data);
        while (reader.Next())
        {
            switch (reader.Field, reader.WireType)
            {
                case (2, 2): message = reader.ReadString(); break;
                case (3, 0): code = reader.ReadVarint(); break;
                default: reader.Skip(); break;
            }
        }
        return (code == 2, message);
    }

    private static void ReadResourceLogs(ReadOnlySpan<byte> data, List<LogRecord> logs)
    {
        var service = "unknown";
        var scopes = new List<byte[]>();
        var reader = new ProtoReader(data);
        while (reader.Next())
        {
            switch (reader.Field, reader.WireType)
            {
                case (1, 2): service = ServiceName(reader.ReadBytes()); break;
                case (2, 2): scopes.Add(reader.ReadBytes().ToArray()); break;
                default: reader.Skip(); break;
            }
        }
        foreach (var scope in scopes)
        {
            var scopeReader = new ProtoReader(scope);
            while (scopeReader.Next())
            {
                if (scopeReader.Field == 2 && scopeReader.WireType == 2) { logs.Add(ReadLog(scopeReader.ReadBytes(), service)); } else { scopeReader.Skip(); }
            }
        }
    }

    private static LogRecord ReadLog(ReadOnlySpan<byte> data, string service)
    {
        ulong time = 0, observed = 0;
        var severityNumber = 0;
        string severity = "", message = "";
        string? traceId = null;
        var attributes = new Dictionary<string, string>(StringComparer.Ordinal);
        var reader = new ProtoReader(data);
        while (reader.Next())
        {
            switch (reader.Field, reader.WireType)
            {
                case (1, 1): time = reader.ReadFixed64(); break;
                case (2, 0): severityNumber = (int)reader.ReadVarint(); break;
                case (3, 2): severity = reader.ReadString(); break;
                case (5, 2): message = AnyValue(reader.ReadBytes()); break;
                case (6, 2): ReadKeyValue(reader.ReadBytes(), attributes); break;
                case (9, 2): var t = reader.ReadBytes(); traceId = t.IsEmpty ? null : Convert.ToHexStringLower(t); break;
                case (11, 1): observed = reader.ReadFixed64(); break;
                default: reader.Skip(); break;
            }
        }
        return new LogRecord(service, FromUnixNanos(time != 0 ? time : observed),
            severity.Length > 0 ? severity : SeverityName(severityNumber), severityNumber, message, traceId, attributes);
    }

    private static string ServiceName(ReadOnlySpan<byte> resource)
    {
        var attributes = new Dictionary<string, string>(StringComparer.Ordinal);
        var reader = new ProtoReader(resource);
        while (reader.Next())
        {
            if (reader.Field == 1 && reader.WireType == 2) { ReadKeyValue(reader.ReadBytes(), attributes); } else { reader.Skip(); }
        }
        return attributes.GetValueOrDefault("service.name", "unknown");
    }

    private static void ReadKeyValue(ReadOnlySpan<byte> data, Dictionary<string, string> into)
    {
        string key = "", value = "";
        var reader = new ProtoReader(data);
        while (reader.Next())
        {
            switch (reader.Field, reader.WireType)
            {
                case (1, 2): key = reader.ReadString(); break;
                case (2, 2): value = AnyValue(reader.ReadBytes()); break;
                default: reader.Skip(); break;
            }
        }
        into[key] = value;
    }

    private static string AnyValue(ReadOnlySpan<byte> data)
    {
        var reader = new ProtoReader(data);
        var values = new List<string>();
        while (reader.Next())
        {
            switch (reader.Field, reader.WireType)
            {
                case (1, 2): return reader.ReadString();
                case (2, 0): return reader.ReadVarint() != 0 ? "true" : "false";
                case (3, 0): return ((long)reader.ReadVarint()).ToString(CultureInfo.InvariantCulture);
                case (4, 1): return BitConverter.UInt64BitsToDouble(reader.ReadFixed64()).ToString(CultureInfo.InvariantCulture);
                case (5, 2):
                    var array = new ProtoReader(reader.ReadBytes());
                    while (array.Next()) { if (array.Field == 1 && array.WireType == 2) { values.Add(AnyValue(array.ReadBytes())); } else { array.Skip(); } }
                    return $"[{string.Join(", ", values)}]";
                case (7, 2): return Convert.ToBase64String(reader.ReadBytes());
                default: reader.Skip(); break;
            }
        }
        return "";
    }

    private static string SeverityName(int number) => number switch
    {
        >= 21 => "Fatal",
        >= 17 => "Error",
        >= 13 => "Warning",
        >= 9 => "Information",
        >= 5 => "Debug",
        >= 1 => "Trace",
        _ => "Unspecified",
    };

    private static DateTimeOffset FromUnixNanos(ulong nanos) =>
        DateTimeOffset.UnixEpoch.AddTicks((long)(nanos / 100));
}
