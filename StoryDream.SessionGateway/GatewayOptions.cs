using System.Globalization;
using Microsoft.Extensions.Options;
using StoryDream.Sessions;

namespace StoryDream.SessionGateway;

/// <summary>The <c>Gateway</c> configuration section.</summary>
internal sealed class GatewayOptions
{
    public const string SectionName = "Gateway";

    /// <summary>Preview hosts are <c>{sessionId}.{PreviewDomain}</c>, for example <c>preview.localhost</c> or <c>preview.example.com</c>.</summary>
    public string PreviewDomain { get; set; } = "";

    /// <summary>Origins of the web client allowed to call <c>/api</c> from the browser, comma-separated (<c>https://app.example.com</c>).</summary>
    public string CorsOrigins { get; set; } = "";

    /// <summary>
    /// How long a proxied WebSocket may carry no bytes at all (ping and pong frames count) before the gateway closes it. YARP's
    /// default of 100 s would cut an idle HMR or chat socket; 30 minutes matches the session idle limit (DESIGN section 4).
    /// </summary>
    public TimeSpan WebSocketActivityTimeout { get; set; } = TimeSpan.FromMinutes(30);

    /// <summary>Lifetime of the preview cookie the gateway sets after a valid <c>sd_token</c>.</summary>
    public TimeSpan PreviewCookieLifetime { get; set; } = TimeSpan.FromHours(12);

    /// <summary>
    /// <c>Lax</c> suits a preview on a subdomain of the web client's site or on its origin (path mode). A preview domain that is
    /// a different site from the web client embedding it needs <c>None</c>, which browsers accept only over HTTPS.
    /// </summary>
    public SameSiteMode PreviewCookieSameSite { get; set; } = SameSiteMode.Lax;

    /// <summary>
    /// Larger bodies sent to <c>/api/**</c> are answered 413 by the gateway itself, chunked or not: the API's own 413 would
    /// be lost when it closes the connection while the proxy is still sending. Keep it equal to <c>Api:MaxRequestBodyBytes</c>.
    /// </summary>
    public long MaxApiRequestBodyBytes { get; set; } = 1024 * 1024;

    /// <summary>
    /// The same for uploads (<c>POST /api/projects/{id}/assets</c>): <c>Assets:MaxBytes</c> (50 MiB) plus 64 KiB for the
    /// multipart framing. Keep it equal to that sum.
    /// </summary>
    public long MaxUploadRequestBodyBytes { get; set; } = 50L * 1024 * 1024 + 64 * 1024;

    /// <summary>
    /// Serves previews at <c>/preview/{sessionId}/</c> on the gateway's own origin, for set-ups without wildcard DNS. Off by
    /// default: a preview runs code a user steers, and in production it lives on its own domain, never beside the studio and
    /// the API.
    /// </summary>
    public bool PathPreviews { get; set; }

    internal string[] CorsOriginList() =>
        CorsOrigins.Split([',', ';', ' '], StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
}

/// <summary>Start-up validation of <see cref="GatewayOptions"/>: a bad setting stops the gateway with the setting's name.</summary>
internal sealed class GatewayOptionsValidator : IValidateOptions<GatewayOptions>
{
    private static readonly TimeSpan MaxTimeout = TimeSpan.FromDays(1);

    public ValidateOptionsResult Validate(string? name, GatewayOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        var errors = new List<string>();

        if (!IsHostName(options.PreviewDomain))
        {
            errors.Add($"Gateway:PreviewDomain must be a host name such as 'preview.localhost' (no scheme, port or leading dot); it is '{options.PreviewDomain}'.");
        }
        foreach (var origin in options.CorsOriginList())
        {
            if (!Uri.TryCreate(origin, UriKind.Absolute, out var uri) || uri.Scheme is not ("http" or "https")
                || uri.PathAndQuery != "/" || origin.EndsWith('/'))
            {
                errors.Add($"Gateway:CorsOrigins has '{origin}', which is not an origin such as 'https://app.example.com' (scheme, host, optional port, no path).");
            }
        }
        // YARP keeps the timeout in int milliseconds; a day is far beyond any useful idle period anyway.
        if (options.WebSocketActivityTimeout <= TimeSpan.Zero || options.WebSocketActivityTimeout > MaxTimeout)
        {
            errors.Add($"Gateway:WebSocketActivityTimeout must be more than 0 and at most {MaxTimeout.ToString("c", CultureInfo.InvariantCulture)}; it is {options.WebSocketActivityTimeout.ToString("c", CultureInfo.InvariantCulture)}.");
        }
        if (options.PreviewCookieLifetime < TimeSpan.FromMinutes(1) || options.PreviewCookieLifetime > TimeSpan.FromDays(7))
        {
            errors.Add("Gateway:PreviewCookieLifetime must be between 00:01:00 and 7.00:00:00.");
        }
        if (options.MaxApiRequestBodyBytes is < 1024 or > 64 * 1024 * 1024)
        {
            errors.Add($"Gateway:MaxApiRequestBodyBytes must be between 1024 and {64 * 1024 * 1024}; it is {options.MaxApiRequestBodyBytes}.");
        }
        if (options.MaxUploadRequestBodyBytes is < 1024 or > 1024L * 1024 * 1024 + 64 * 1024)
        {
            errors.Add($"Gateway:MaxUploadRequestBodyBytes must be between 1024 and {1024L * 1024 * 1024 + 64 * 1024}; it is {options.MaxUploadRequestBodyBytes}.");
        }
        if (options.PreviewCookieSameSite is not (SameSiteMode.Lax or SameSiteMode.Strict or SameSiteMode.None))
        {
            errors.Add("Gateway:PreviewCookieSameSite must be Lax, Strict or None.");
        }
        return errors.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(errors);
    }

    private static bool IsHostName(string value)
    {
        if (string.IsNullOrEmpty(value) || value.Length > 200) { return false; }
        foreach (var label in value.Split('.'))
        {
            if (label.Length is 0 or > 63 || label[0] == '-' || label[^1] == '-') { return false; }
            foreach (var c in label)
            {
                if (!(char.IsAsciiLetterLower(c) || char.IsAsciiDigit(c) || c == '-')) { return false; }
            }
        }
        return true;
    }
}

/// <summary>The part of the <c>Sessions</c> section the gateway needs: the key shared with the API for preview tokens.</summary>
internal sealed class PreviewKeyOptions
{
    public const string SectionName = "Sessions";

    public string PreviewTokenKey { get; set; } = "";

    internal static bool IsUsable(PreviewKeyOptions options)
    {
        try
        {
            _ = PreviewTokens.FromBase64Key(options.PreviewTokenKey, TimeProvider.System);
            return true;
        }
        catch (InvalidOperationException)
        {
            return false;
        }
        catch (ArgumentException)
        {
            return false;
        }
    }
}
