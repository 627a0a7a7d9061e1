using Microsoft.AspNetCore.Http.Features;
using Microsoft.AspNetCore.Http.Metadata;
using Microsoft.Extensions.Options;

namespace StoryDream.Api.Http;

/// <summary>
/// Refuses bodies over <see cref="HttpOptions.MaxRequestBodyBytes"/> with a 413 problem. A declared length is checked
/// up front; a body of unknown length (chunked) is read into memory up to the limit, so the refusal is the same
/// whatever the server underneath (Kestrel's own limit would surface inside model binding as a dropped request).
/// An endpoint that takes more (uploads) says so with <see cref="IRequestSizeLimitMetadata"/>.
/// </summary>
internal sealed class RequestBodyLimitMiddleware(RequestDelegate next, IOptions<HttpOptions> options, IProblemDetailsService problems)
{
    private readonly long _defaultLimit = options.Value.MaxRequestBodyBytes;

    public async Task InvokeAsync(HttpContext context)
    {
        var request = context.Request;
        var limit = context.GetEndpoint()?.Metadata.GetMetadata<IRequestSizeLimitMetadata>()?.MaxRequestBodySize ?? _defaultLimit;
        if (request.ContentLength > limit)
        {
            await RefuseAsync(context, limit);
            return;
        }
        if (context.Features.Get<IHttpMaxRequestBodySizeFeature>() is { IsReadOnly: false } size)
        {
            size.MaxRequestBodySize = limit;
        }
        if (request.ContentLength is null && CanHaveBody(context))
        {
            var buffer = new MemoryStream();
            var chunk = new byte[16 * 1024];
            int read;
            while ((read = await request.Body.ReadAsync(chunk, context.RequestAborted)) > 0)
            {
                if (buffer.Length + read > limit)
                {
                    await RefuseAsync(context, limit);
                    return;
                }
                buffer.Write(chunk, 0, read);
            }
            buffer.Position = 0;
            request.Body = buffer;
            request.ContentLength = buffer.Length;
            context.Response.RegisterForDispose(buffer);
        }
        await next(context);
    }

    private static bool CanHaveBody(HttpContext context) =>
        context.Features.Get<IHttpRequestBodyDetectionFeature>()?.CanHaveBody
        ?? !(HttpMethods.IsGet(context.Request.Method) || HttpMethods.IsHead(context.Request.Method));

    private async Task RefuseAsync(HttpContext context, long limit)
    {
        context.Response.StatusCode = StatusCodes.Status413PayloadTooLarge;
        // The client may still be sending; close rather than drain an unbounded body.
        context.Response.Headers.Connection = "close";
        await problems.WriteAsync(new ProblemDetailsContext
        {
            HttpContext = context,
            ProblemDetails =
            {
                Status = StatusCodes.Status413PayloadTooLarge,
                Type = ProblemTypes.PayloadTooLarge,
                Title = "Request body too large",
                Detail = $"Request bodies are limited to {limit} bytes.",
            },
        });
    }
}
