using Microsoft.AspNetCore.Http.HttpResults;
using StoryDream.AppHost.Dashboard.Otlp;
using StoryDream.AppHost.Orchestration;

namespace StoryDream.AppHost.Dashboard;

/// <summary>
/// The dashboard: its page, the JSON the page reads (resources, console output, traces, structured logs,
/// per-service rates) and the OTLP/HTTP protobuf receiver the services export to.
/// </summary>
internal static class DashboardEndpoints
{
    /// <summary>An export larger than this is refused; the services' batches are far smaller.</summary>
    public const int MaxExportBytes = 8 * 1024 * 1024;
    private const string Protobuf = "application/x-protobuf";

    public static IServiceCollection AddDashboard(this IServiceCollection services)
    {
        services.ConfigureHttpJsonOptions(json => json.SerializerOptions.Converters.Add(new System.Text.Json.Serialization.JsonStringEnumConverter()));
        services.AddSingleton(sp => new TelemetryStore(sp.GetRequiredService<TimeProvider>()));
        return services;
    }

    public static IEndpointRouteBuilder MapDashboard(this IEndpointRouteBuilder app)
    {
        app.MapGet("/", Page);
        app.MapGet("/api/resources", Resources);
        app.MapGet("/api/resources/{name}/logs", ConsoleLogs);
        app.MapGet("/api/traces", Traces);
        app.MapGet("/api/traces/{traceId}", Trace);
        app.MapGet("/api/logs", StructuredLogs);
        app.MapGet("/api/metrics", Metrics);
        app.MapPost("/v1/traces", ReceiveTraces);
        app.MapPost("/v1/logs", ReceiveLogs);
        app.MapPost("/v1/metrics", ReceiveMetrics);
        return app;
    }

    private static IResult Page()
    {
        var stream = typeof(DashboardEndpoints).Assembly.GetManifestResourceStream("StoryDream.AppHost.Dashboard.wwwroot.index.html");
        return stream is null ? TypedResults.NotFound() : TypedResults.Stream(stream, "text/html; charset=utf-8");
    }

    private static Ok<ResourceSnapshot[]> Resources(Orchestrator orchestrator) =>
        TypedResults.Ok(orchestrator.Supervisors.Select(s => s.Snapshot()).ToArray());

    private static Results<Ok<LogLine[]>, NotFound> ConsoleLogs(string name, long? after, Orchestrator orchestrator)
    {
        var supervisor = orchestrator.Supervisors.FirstOrDefault(s => string.Equals(s.Resource.Name, name, StringComparison.Ordinal));
        return supervisor is null ? TypedResults.NotFound() : TypedResults.Ok(supervisor.Log.After(after ?? 0).ToArray());
    }

    private static Ok<IReadOnlyList<TraceSummary>> Traces(string? service, int? limit, TelemetryStore store) =>
        TypedResults.Ok(store.RecentTraces(string.IsNullOrEmpty(service) ? null : service, Math.Clamp(limit ?? 100, 1, 1000)));

    private static Results<Ok<IReadOnlyList<SpanRecord>>, NotFound> Trace(string traceId, TelemetryStore store)
    {
        var spans = store.Trace(traceId);
        return spans.Count == 0 ? TypedResults.NotFound() : TypedResults.Ok(spans);
    }

    private static Ok<IReadOnlyList<LogRecord>> StructuredLogs(string? service, int? minSeverity, string? text, int? limit, TelemetryStore store) =>
        TypedResults.Ok(store.Logs(string.IsNullOrEmpty(service) ? null : service, minSeverity ?? 0, text, Math.Clamp(limit ?? 500, 1, 5000)));

    private static Ok<IReadOnlyList<ServiceMetrics>> Metrics(TelemetryStore store) => TypedResults.Ok(store.Metrics());

    private static Task<IResult> ReceiveTraces(HttpRequest request, TelemetryStore store, CancellationToken cancellationToken) =>
        ReceiveAsync(request, body => store.Add(OtlpDecoder.DecodeTraces(body)), cancellationToken);

    private static Task<IResult> ReceiveLogs(HttpRequest request, TelemetryStore store, CancellationToken cancellationToken) =>
        ReceiveAsync(request, body => store.Add(OtlpDecoder.DecodeLogs(body)), cancellationToken);

    private static Task<IResult> ReceiveMetrics(HttpRequest request, TelemetryStore store, CancellationToken cancellationToken) =>
        ReceiveAsync(request, body => store.AddMetricExports(OtlpDecoder.DecodeMetricServices(body)), cancellationToken);

    private static async Task<IResult> ReceiveAsync(HttpRequest request, Action<byte[]> decode, CancellationToken cancellationToken)
    {
        if (!string.Equals(request.ContentType, Protobuf, StringComparison.OrdinalIgnoreCase))
        {
            return TypedResults.Problem($"Only OTLP/HTTP protobuf ({Protobuf}) is accepted.", statusCode: StatusCodes.Status415UnsupportedMediaType);
        }
        if (request.ContentLength > MaxExportBytes)
        {
            return TypedResults.Problem($"Exports are limited to {MaxExportBytes} bytes.", statusCode: StatusCodes.Status413PayloadTooLarge);
        }
        using var buffer = new MemoryStream();
        var chunk = new byte[81920];
        int read;
        while ((read = await request.Body.ReadAsync(chunk, cancellationToken)) > 0)
        {
            if (buffer.Length + read > MaxExportBytes)
            {
                return TypedResults.Problem($"Exports are limited to {MaxExportBytes} bytes.", statusCode: StatusCodes.Status413PayloadTooLarge);
            }
            buffer.Write(chunk, 0, read);
        }
        try
        {
            decode(buffer.ToArray());
        }
        catch (FormatException e)
        {
            return TypedResults.Problem($"Not a valid OTLP protobuf message: {e.Message}", statusCode: StatusCodes.Status400BadRequest);
        }
        // An empty Export*ServiceResponse: full success.
        return TypedResults.Bytes([], Protobuf);
    }
}
