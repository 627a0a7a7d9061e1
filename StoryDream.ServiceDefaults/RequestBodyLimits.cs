using System.Buffers;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.AspNetCore.Http.Metadata;

namespace StoryDream.ServiceDefaults;

/// <summary>
/// Refuses request bodies over a limit with a 413 problem. A declared length is checked up front; a body of unknown length
/// (chunked) is read into memory up to the limit, so the refusal is the same whatever the server underneath (Kestrel's own
/// limit would surface inside model binding, or inside a proxy's body copy, as a dropped request). After the refusal the
/// rest of the body is read and dropped for a few seconds, as nginx's lingering close does: closing on unread data resets
/// the connection, and the client, still sending, would see the reset instead of the 413.
/// </summary>
public static class RequestBodyLimits
{
    public const string ProblemType = "https://storydream.dev/problems/payload-too-large";
    private const int ChunkBytes = 16 * 1024;
    private static readonly TimeSpan LingerTime = TimeSpan.FromSeconds(5);

    /// <summary>
    /// Limits bodies to <paramref name="limit"/>, or to what the endpoint declares with <see cref="IRequestSizeLimitMetadata"/>
    /// (uploads); the endpoint must be known, so this runs after routing.
    /// </summary>
    public static IApplicationBuilder UseRequestBodyLimit(this IApplicationBuilder app, long limit)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(limit);
        return app.UseRequestBodyLimit(context =>
            context.GetEndpoint()?.Metadata.GetMetadata<IRequestSizeLimitMetadata>()?.MaxRequestBodySize ?? limit);
    }

    /// <summary>Limits each request's body to what <paramref name="limitOf"/> says for it.</summary>
    public static IApplicationBuilder UseRequestBodyLimit(this IApplicationBuilder app, Func<HttpContext, long> limitOf)
    {
        ArgumentNullException.ThrowIfNull(app);
        ArgumentNullException.ThrowIfNull(limitOf);
        return app.Use(async (context, next) =>
        {
            var limit = limitOf(context);
            if (context.Features.Get<IHttpMaxRequestBodySizeFeature>() is { IsReadOnly: false } size)
            {
                // This is the limit: the server's own (Kestrel's 30 MB) would cut an allowed upload short, and would answer
                // an over-long body with a bare 413 and a reset instead of the problem and the lingering close below.
                size.MaxRequestBodySize = null;
            }
            if (await WithinLimitAsync(context, limit))
            {
                await next(context);
            }
            else
            {
                await RefuseAsync(context, limit);
            }
        });
    }

    private static async Task<bool> WithinLimitAsync(HttpContext context, long limit)
    {
        var request = context.Request;
        if (request.ContentLength > limit) { return false; }
        if (request.ContentLength is not null || !CanHaveBody(context)) { return true; }

        // A body of unknown length is read through before anything else sees it. Past a small size the buffer is a
        // temporary file, so a large allowed upload does not sit in memory.
        var unbuffered = request.Body;
        request.EnableBuffering();
        var chunk = ArrayPool<byte>.Shared.Rent(ChunkBytes);
        long total = 0;
        try
        {
            int read;
            while ((read = await request.Body.ReadAsync(chunk, context.RequestAborted)) > 0)
            {
                total += read;
                if (total > limit)
                {
                    // The rest is read only to be dropped (the lingering close), not into the buffer.
                    request.Body = unbuffered;
                    return false;
                }
            }
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(chunk);
        }
        request.Body.Position = 0;
        request.ContentLength = total;
        return true;
    }

    private static bool CanHaveBody(HttpContext context) =>
        context.Features.Get<IHttpRequestBodyDetectionFeature>()?.CanHaveBody
        ?? !(HttpMethods.IsGet(context.Request.Method) || HttpMethods.IsHead(context.Request.Method));

    private static async Task RefuseAsync(HttpContext context, long limit)
    {
        // The connection is not reused: what is left of the body is dropped, not parsed as the next request.
        context.Response.Headers.Connection = "close";
        await TypedResults.Problem(
            $"Request bodies are limited to {limit} bytes.",
            statusCode: StatusCodes.Status413PayloadTooLarge,
            title: "Request body too large",
            type: ProblemType).ExecuteAsync(context);
        await context.Response.CompleteAsync();
        await LingerAsync(context);
    }

    private static async Task LingerAsync(HttpContext context)
    {
        using var linger = CancellationTokenSource.CreateLinkedTokenSource(context.RequestAborted);
        linger.CancelAfter(LingerTime);
        var scratch = ArrayPool<byte>.Shared.Rent(ChunkBytes);
        try
        {
            while (await context.Request.Body.ReadAsync(scratch, linger.Token) > 0)
            {
            }
        }
        catch (Exception e) when (e is OperationCanceledException or IOException or BadHttpRequestException)
        {
            // Too slow, gone, or past the server's own limit: the connection closes now either way.
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(scratch);
        }
    }
}
