using System.Globalization;
using System.Text;

namespace StoryDream.SessionGateway.Preview;

/// <summary>
/// The small pages the gateway answers with instead of the preview. They are HTML because a person sees them in the preview
/// frame; the ones for a passing state reload themselves.
/// </summary>
internal static class PreviewPages
{
    public static readonly TimeSpan StartingRetryAfter = TimeSpan.FromSeconds(2);
    public static readonly TimeSpan UnavailableRetryAfter = TimeSpan.FromSeconds(5);

    private static readonly byte[] Unauthorized = Page("Preview link needed",
        "This preview opens only from StoryDream. Open it again from your project: preview links are valid for a few minutes.");

    private static readonly byte[] NotFound = Page("No such session",
        "There is no running session here. It may have ended; start it again from your project.");

    private static readonly byte[] Starting = Page("Starting the preview",
        "The session is starting. This page reloads by itself when it is ready.", StartingRetryAfter);

    private static readonly byte[] Unavailable = Page("Preview briefly unavailable",
        "The gateway cannot look this session up right now. This page tries again by itself.", UnavailableRetryAfter);

    private static readonly byte[] Unreachable = Page("Preview not reachable",
        "The session's preview server did not answer. It may be restarting or it may have stopped; reload in a moment, or restart the session from your project.");

    private static readonly byte[] BadPath = Page("Bad address", "This address cannot be opened.");

    public static Task WriteUnauthorizedAsync(HttpContext context) => WriteAsync(context, StatusCodes.Status401Unauthorized, Unauthorized, null);

    public static Task WriteNotFoundAsync(HttpContext context) => WriteAsync(context, StatusCodes.Status404NotFound, NotFound, null);

    public static Task WriteStartingAsync(HttpContext context) => WriteAsync(context, StatusCodes.Status503ServiceUnavailable, Starting, StartingRetryAfter);

    public static Task WriteUnavailableAsync(HttpContext context) => WriteAsync(context, StatusCodes.Status503ServiceUnavailable, Unavailable, UnavailableRetryAfter);

    public static Task WriteBadPathAsync(HttpContext context) => WriteAsync(context, StatusCodes.Status400BadRequest, BadPath, null);

    /// <summary>The forwarder has already chosen the status (502, or 504 when the pod was too slow).</summary>
    public static Task WriteUnreachableAsync(HttpContext context) => WriteAsync(context, context.Response.StatusCode, Unreachable, null);

    private static Task WriteAsync(HttpContext context, int status, byte[] body, TimeSpan? retryAfter)
    {
        var response = context.Response;
        response.StatusCode = status;
        var headers = response.Headers;
        headers.ContentType = "text/html; charset=utf-8";
        headers.CacheControl = "no-store";
        headers.XContentTypeOptions = "nosniff";
        if (retryAfter is { } delay)
        {
            headers.RetryAfter = ((int)delay.TotalSeconds).ToString(CultureInfo.InvariantCulture);
        }
        response.ContentLength = body.Length;
        return HttpMethods.IsHead(context.Request.Method) ? Task.CompletedTask : response.Body.WriteAsync(body, 0, body.Length, context.RequestAborted);
    }

    private static byte[] Page(string title, string text, TimeSpan? reloadAfter = null)
    {
        var refresh = reloadAfter is { } delay
            ? $"<meta http-equiv=\"refresh\" content=\"{(int)delay.TotalSeconds}\">"
            : "";
        return Encoding.UTF8.GetBytes($"""
            <!doctype html>
            <html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width">{refresh}
            <title>{title}</title>
            <style>body{"{"}font:16px system-ui,sans-serif;color:#333;display:grid;place-items:center;height:90vh;margin:0{"}"}main{"{"}max-width:28em;text-align:center{"}"}</style>
            </head><body><main><h1>{title}</h1><p>{text}</p></main></body></html>
            """);
    }
}
