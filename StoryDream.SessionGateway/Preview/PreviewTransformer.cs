using System.Text;
using Microsoft.Extensions.Primitives;
using Microsoft.Net.Http.Headers;
using Yarp.ReverseProxy.Forwarder;

namespace StoryDream.SessionGateway.Preview;

/// <summary>
/// Copies the request as it is, but for the headers that are the gateway's business: the user's credentials and the
/// platform's cookies never reach the pod (it runs code a user steers), and the pod's own credential is added. From the
/// pod's answer it drops what could act on the platform's origin beyond the preview: cookies named like the platform's,
/// a wider service worker scope, and Clear-Site-Data.
/// </summary>
internal sealed class PreviewTransformer(string? podAuthorization) : HttpTransformer
{
    // Credentials of the platform's own API, which a browser or client may send along with preview traffic.
    private static readonly string[] StrippedRequestHeaders = [HeaderNames.Authorization, HeaderNames.ProxyAuthorization, "X-Api-Key"];

    private static readonly string[] DroppedResponseHeaders = ["Service-Worker-Allowed", "Clear-Site-Data"];

    public override async ValueTask TransformRequestAsync(HttpContext httpContext, HttpRequestMessage proxyRequest, string destinationPrefix, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(httpContext);
        ArgumentNullException.ThrowIfNull(proxyRequest);
        await base.TransformRequestAsync(httpContext, proxyRequest, destinationPrefix, cancellationToken);

        foreach (var header in StrippedRequestHeaders) { proxyRequest.Headers.Remove(header); }
        // The one header only the gateway sets: the pod's preview refuses requests without its secret.
        if (podAuthorization is not null) { proxyRequest.Headers.TryAddWithoutValidation(HeaderNames.Authorization, podAuthorization); }

        // The pod sees its own address as Host: Vite's allowedHosts check always passes it, whatever the public preview
        // host is, and the HMR client takes its socket address from the page's location, so the public host is not needed.
        proxyRequest.Headers.Host = null;

        // The preview cookie and the platform's other cookies are the user's credentials; the pod has no use for them.
        var cookies = httpContext.Request.Headers.Cookie;
        if (cookies.Count > 0)
        {
            proxyRequest.Headers.Remove(HeaderNames.Cookie);
            if (WithoutPlatformCookies(cookies) is { } rest)
            {
                proxyRequest.Headers.TryAddWithoutValidation(HeaderNames.Cookie, rest);
            }
        }
    }

    public override async ValueTask<bool> TransformResponseAsync(HttpContext httpContext, HttpResponseMessage? proxyResponse, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(httpContext);
        var proceed = await base.TransformResponseAsync(httpContext, proxyResponse, cancellationToken);
        var headers = httpContext.Response.Headers;
        foreach (var header in DroppedResponseHeaders) { headers.Remove(header); }
        var cookies = headers.SetCookie;
        if (cookies.Count > 0)
        {
            var kept = cookies.Where(c => c is not null && !IsPlatformCookie(c)).ToArray();
            if (kept.Length != cookies.Count) { headers.SetCookie = new StringValues(kept); }
        }
        return proceed;
    }

    /// <summary>A Set-Cookie naming one of the platform's cookies (<c>sd_*</c>, <c>__Host-sd_*</c>, <c>__Secure-sd_*</c>).</summary>
    internal static bool IsPlatformCookie(ReadOnlySpan<char> cookie)
    {
        var name = (cookie.IndexOf('=') is var eq and >= 0 ? cookie[..eq] : cookie).Trim();
        if (name.StartsWith("__Host-", StringComparison.OrdinalIgnoreCase)) { name = name["__Host-".Length..]; }
        else if (name.StartsWith("__Secure-", StringComparison.OrdinalIgnoreCase)) { name = name["__Secure-".Length..]; }
        return name.StartsWith(PlatformCookiePrefix, StringComparison.OrdinalIgnoreCase);
    }

    internal const string PlatformCookiePrefix = "sd_";

    /// <summary>The Cookie header without the platform's cookies (the gateway's among them), or null when nothing else is left.</summary>
    internal static string? WithoutPlatformCookies(StringValues cookies)
    {
        if (cookies.Count == 1 && !cookies[0]!.Contains(PlatformCookiePrefix, StringComparison.OrdinalIgnoreCase))
        {
            return cookies[0];
        }
        StringBuilder? kept = null;
        foreach (var header in cookies)
        {
            foreach (var range in header.AsSpan().Split(';'))
            {
                var pair = header.AsSpan()[range].Trim();
                if (pair.IsEmpty || IsPlatformCookie(pair)) { continue; }
                kept ??= new StringBuilder(header!.Length);
                if (kept.Length > 0) { kept.Append("; "); }
                kept.Append(pair);
            }
        }
        return kept?.ToString();
    }
}

/// <summary>Finds the gateway's cookie in a Cookie header without parsing the header into a dictionary.</summary>
internal static class PreviewCookies
{
    public const string Prefix = PreviewAccess.CookieName + "=";

    public static ReadOnlySpan<char> Find(StringValues cookies)
    {
        foreach (var header in cookies)
        {
            var value = Find(header.AsSpan());
            if (!value.IsEmpty) { return value; }
        }
        return default;
    }

    public static ReadOnlySpan<char> Find(ReadOnlySpan<char> header)
    {
        foreach (var range in header.Split(';'))
        {
            var pair = header[range].TrimStart(' ');
            if (pair.StartsWith(Prefix, StringComparison.Ordinal))
            {
                return pair[Prefix.Length..].TrimEnd(' ');
            }
        }
        return default;
    }

}
