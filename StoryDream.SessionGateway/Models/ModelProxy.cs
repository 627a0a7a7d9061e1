using System.Buffers;
using System.Net;
using System.Text.Json;
using Microsoft.Extensions.Options;
using StoryDream.Sessions;

namespace StoryDream.SessionGateway.Models;

/// <summary>
/// The model proxy (DESIGN section 8). A pod sends its session's token (<c>x-api-key</c> or <c>Authorization: Bearer</c>)
/// to <c>POST /v1/messages</c>; the proxy checks it against the hash in the session record, refuses a user over the daily
/// budget, swaps in the platform's key, and passes the answer through as it streams while reading its usage. Errors are
/// in Anthropic's shape with <c>x-should-retry: false</c>: the Claude CLI would otherwise retry for minutes.
/// </summary>
internal sealed partial class ModelProxy : IDisposable
{
    private const string MessagesPath = "/v1/messages";
    private const int MaxUnflushedBytes = 64 * 1024;

    // Headers that are the proxy's or the connection's business; everything else the agent sends goes upstream unchanged.
    private static readonly HashSet<string> DroppedRequestHeaders = new(StringComparer.OrdinalIgnoreCase)
    {
        "Host", "Authorization", "X-Api-Key", "Cookie", "Connection", "Keep-Alive", "Transfer-Encoding", "Upgrade",
        "Proxy-Authorization", "Proxy-Connection", "TE", "Content-Length", "Content-Type", "Accept-Encoding",
    };

    private static readonly HashSet<string> DroppedResponseHeaders = new(StringComparer.OrdinalIgnoreCase)
    {
        "Connection", "Keep-Alive", "Transfer-Encoding", "Set-Cookie", "Content-Length",
    };

    private readonly HttpMessageInvoker _upstream;
    private readonly ModelUsage _usage;
    private readonly ModelProxyOptions _options;
    private readonly ILogger<ModelProxy> _logger;

    public ModelProxy(ModelUsage usage, IOptions<ModelProxyOptions> options, ILogger<ModelProxy> logger)
    {
        _usage = usage;
        _options = options.Value;
        _logger = logger;
        _upstream = new HttpMessageInvoker(new SocketsHttpHandler
        {
            UseProxy = false,
            AllowAutoRedirect = false,
            // The stream is read for its usage, so it is asked for uncompressed (Accept-Encoding: identity).
            AutomaticDecompression = DecompressionMethods.None,
            UseCookies = false,
            ConnectTimeout = TimeSpan.FromSeconds(10),
            PooledConnectionIdleTimeout = TimeSpan.FromMinutes(1),
        });
    }

    public void Dispose() => _upstream.Dispose();

    public async Task HandleAsync(HttpContext context)
    {
        ArgumentNullException.ThrowIfNull(context);
        var request = context.Request;
        if (!string.Equals(request.Path.Value, MessagesPath, StringComparison.Ordinal))
        {
            await WriteErrorAsync(context, StatusCodes.Status404NotFound, "not_found_error", $"The model proxy serves only POST {MessagesPath}.");
            return;
        }
        if (!HttpMethods.IsPost(request.Method))
        {
            context.Response.Headers.Allow = "POST";
            await WriteErrorAsync(context, StatusCodes.Status405MethodNotAllowed, "invalid_request_error", $"{MessagesPath} takes POST only.");
            return;
        }

        var token = Token(request);
        var sessionId = PodCredentials.SessionOfModelToken(token);
        var session = sessionId is null ? null : await _usage.SessionAndSpendAsync(sessionId);
        if (session is not { } found || !PodCredentials.ModelTokenMatches(token!, found.TokenHash))
        {
            // A stopped session's record is gone, so its token is revoked with it.
            LogRefusedToken(sessionId ?? "(none)");
            await WriteErrorAsync(context, StatusCodes.Status401Unauthorized, "authentication_error", "This session's model token is not valid (the session may have ended).");
            return;
        }

        if (found.SpentToday >= _options.DailyTokenBudget)
        {
            LogOverBudget(sessionId!, found.SpentToday, _options.DailyTokenBudget);
            await WriteErrorAsync(context, StatusCodes.Status403Forbidden, "permission_error",
                $"StoryDream: today's model budget is used up ({found.SpentToday:N0} of {_options.DailyTokenBudget:N0} tokens). It renews at 00:00 UTC.");
            return;
        }

        await ForwardAsync(context, sessionId!, found.OwnerId);
    }

    private async Task ForwardAsync(HttpContext context, string sessionId, string ownerId)
    {
        var request = context.Request;
        using var upstreamRequest = new HttpRequestMessage(HttpMethod.Post, new Uri(_options.Upstream, "v1/messages" + request.QueryString.Value))
        {
            Content = new StreamContent(request.Body),
            Version = HttpVersion.Version11,
        };
        if (request.ContentType is { } contentType) { upstreamRequest.Content.Headers.TryAddWithoutValidation("Content-Type", contentType); }
        // A body of known length goes upstream with that length rather than re-chunked.
        upstreamRequest.Content.Headers.ContentLength = request.ContentLength;
        foreach (var (name, values) in request.Headers)
        {
            if (DroppedRequestHeaders.Contains(name)) { continue; }
            upstreamRequest.Headers.TryAddWithoutValidation(name, (IEnumerable<string?>)values);
        }
        upstreamRequest.Headers.TryAddWithoutValidation("x-api-key", _options.ApiKey);
        upstreamRequest.Headers.TryAddWithoutValidation("Accept-Encoding", "identity");

        using var headersDeadline = CancellationTokenSource.CreateLinkedTokenSource(context.RequestAborted);
        headersDeadline.CancelAfter(_options.UpstreamTimeout);
        HttpResponseMessage response;
        try
        {
            response = await _upstream.SendAsync(upstreamRequest, headersDeadline.Token);
        }
        catch (Exception e) when (e is HttpRequestException or OperationCanceledException && !context.RequestAborted.IsCancellationRequested)
        {
            var timedOut = e is OperationCanceledException;
            LogUpstreamFailed(sessionId, timedOut ? "timeout" : e.Message);
            await WriteErrorAsync(context, timedOut ? StatusCodes.Status504GatewayTimeout : StatusCodes.Status502BadGateway, "api_error",
                timedOut
                    ? $"StoryDream: the model is unavailable right now (no answer within {_options.UpstreamTimeout.TotalSeconds:0} s). Try again in a moment."
                    : "StoryDream: the model is unavailable right now (it could not be reached). Try again in a moment.");
            return;
        }

        using (response)
        {
            var outgoing = context.Response;
            outgoing.StatusCode = (int)response.StatusCode;
            foreach (var header in response.Headers.Concat(response.Content.Headers))
            {
                if (DroppedResponseHeaders.Contains(header.Key)) { continue; }
                outgoing.Headers[header.Key] = header.Value.ToArray();
            }
            using var meter = new UsageReader(response.Content.Headers.ContentType?.MediaType == "text/event-stream");
            await using var body = await response.Content.ReadAsStreamAsync(context.RequestAborted);
            var buffer = ArrayPool<byte>.Shared.Rent(16 * 1024);
            using var idle = CancellationTokenSource.CreateLinkedTokenSource(context.RequestAborted);
            try
            {
                var writer = outgoing.BodyWriter;
                var unflushed = 0;
                var flushedOnce = false;
                while (true)
                {
                    idle.CancelAfter(_options.StreamIdleTimeout);
                    var reading = body.ReadAsync(buffer, idle.Token);
                    // Bytes go out the moment nothing more is waiting upstream, so no byte is held back for the next
                    // read; what arrived together leaves in one send rather than one per upstream chunk. The first read
                    // leaves at once with the headers, however much more is already waiting.
                    if (unflushed > 0 && (!reading.IsCompleted || unflushed >= MaxUnflushedBytes || !flushedOnce))
                    {
                        await writer.FlushAsync(context.RequestAborted);
                        unflushed = 0;
                        flushedOnce = true;
                    }
                    var read = await reading;
                    if (read == 0) { break; }
                    writer.Write(buffer.AsSpan(0, read));
                    unflushed += read;
                    meter.Feed(buffer.AsSpan(0, read));
                }
                // The agent has its whole answer before the usage is written to Redis.
                await outgoing.CompleteAsync();
            }
            catch (Exception e) when (e is IOException or OperationCanceledException or HttpRequestException)
            {
                LogStreamBroken(sessionId, e.Message);
                context.Abort();
            }
            finally
            {
                ArrayPool<byte>.Shared.Return(buffer);
                if (meter.Finish() is { } usage)
                {
                    await _usage.RecordAsync(sessionId, ownerId, usage);
                }
            }
        }
    }

    private static string? Token(HttpRequest request)
    {
        if (request.Headers["x-api-key"] is { Count: 1 } key && !string.IsNullOrEmpty(key[0])) { return key[0]; }
        var authorization = request.Headers.Authorization.ToString();
        return authorization.StartsWith("Bearer ", StringComparison.Ordinal) ? authorization["Bearer ".Length..] : null;
    }

    private static Task WriteErrorAsync(HttpContext context, int status, string type, string message)
    {
        var response = context.Response;
        response.StatusCode = status;
        // Honoured by the Anthropic SDKs whatever the status: the agent fails at once rather than retrying.
        response.Headers["x-should-retry"] = "false";
        response.ContentType = "application/json";
        return response.WriteAsync(JsonSerializer.Serialize(new { type = "error", error = new { type, message } }), context.RequestAborted);
    }

    [LoggerMessage(EventId = 60, Level = LogLevel.Warning, Message = "Model proxy: refused a request with an invalid or revoked token (session {SessionId}).")]
    private partial void LogRefusedToken(string sessionId);

    [LoggerMessage(EventId = 61, Level = LogLevel.Information, Message = "Model proxy: session {SessionId} refused, its user is over the daily budget ({Spent} of {Budget} tokens).")]
    private partial void LogOverBudget(string sessionId, long spent, long budget);

    [LoggerMessage(EventId = 62, Level = LogLevel.Warning, Message = "Model proxy: the upstream failed for session {SessionId}: {Reason}.")]
    private partial void LogUpstreamFailed(string sessionId, string reason);

    [LoggerMessage(EventId = 63, Level = LogLevel.Warning, Message = "Model proxy: the stream of session {SessionId} broke off: {Reason}.")]
    private partial void LogStreamBroken(string sessionId, string reason);
}
