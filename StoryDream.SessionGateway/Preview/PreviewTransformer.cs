using System.Text;
using Microsoft.Extensions.Primitives;
using Microsoft.Net.Http.Headers;
using Yarp.ReverseProxy.Forwarder;

namespace StoryDream.SessionGateway.Preview;

/// <summary>Copies the request as it is, but for the two headers that are the gateway's business.</summary>
internal sealed class PreviewTransformer : HttpTransformer
{
    public static readonly PreviewTransformer Instance = new();

    private PreviewTransformer()
    {
    }

    public override async ValueTask TransformRequestAsync(HttpContext httpContext, HttpRequestMessage proxyRequest, string destinationPrefix, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(httpContext);
        ArgumentNullException.ThrowIfNull(proxyRequest);
        await base.TransformRequestAsync(httpContext, proxyRequest, destinationPrefix, cancellationToken);

        // The pod sees its own address as Host: Vite's allowedHosts check always passes it, whatever the public preview
        // host is, and the HMR client takes its socket address from the page's location, so the public host is not needed.
        proxyRequest.Headers.Host = null;

        // The preview cookie is the user's credential; the pod runs agent-written code and has no use for it.
        var cookies = httpContext.Request.Headers.Cookie;
        if (cookies.Count > 0)
        {
            proxyRequest.Headers.Remove(HeaderNames.Cookie);
            if (WithoutPreviewCookie(cookies) is { } rest)
            {
                proxyRequest.Headers.TryAddWithoutValidation(HeaderNames.Cookie, rest);
            }
        }
    }

    /// <summary>The Cookie header without the gateway's cookie, or null when nothing else is left.</summary>
    internal static string? WithoutPreviewCookie(StringValues cookies)
    {
        if (cookies.Count == 1 && !cookies[0]!.Contains(PreviewCookies.Prefix, StringComparison.Ordinal))
        {
            return cookies[0];
        }
        StringBuilder? kept = null;
        foreach (var header in cookies)
        {
            foreach (var range in header.AsSpan().Split(';'))
            {
                var pair = header.AsSpan()[range].Trim();
                if (pair.IsEmpty || PreviewCookies.IsPreviewCookie(pair)) { continue; }
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

    public static bool IsPreviewCookie(ReadOnlySpan<char> pair) => pair.StartsWith(Prefix, StringComparison.Ordinal);
}
