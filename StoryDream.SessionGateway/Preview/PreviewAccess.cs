using System.Security.Cryptography;
using System.Text;
using Microsoft.Extensions.Options;
using StoryDream.Sessions;

namespace StoryDream.SessionGateway.Preview;

/// <summary>
/// Who may see a session's preview. The API's short-lived <c>sd_token</c> (a <see cref="PreviewTokens"/> token) is traded
/// once for a longer-lived cookie in the same format, signed with a key derived from the shared one: a cookie value is then
/// never accepted as a URL token, where it could leak through history or logs, and a URL token is never a cookie.
/// </summary>
internal sealed class PreviewAccess
{
    public const string TokenParameter = "sd_token";
    public const string CookieName = "sd_preview";

    // Outside Development the cookie is Secure and prefixed, so no http page or sibling subdomain can plant or shadow it:
    // __Host- where it belongs to the host (path /), __Secure- where it is scoped to a path, which __Host- forbids.
    private const string HostCookieName = "__Host-" + CookieName;
    private const string PathCookieName = "__Secure-" + CookieName;
    private static readonly byte[] CookieKeyInfo = Encoding.ASCII.GetBytes("storydream gateway preview cookie v1");
    private readonly PreviewTokens _links;
    private readonly PreviewTokens _cookies;
    private readonly TimeSpan _cookieLifetime;

    public PreviewAccess(IOptions<PreviewKeyOptions> keyOptions, IOptions<GatewayOptions> gatewayOptions, IHostEnvironment environment, TimeProvider time)
    {
        SecureCookies = !environment.IsDevelopment();
        var base64Key = keyOptions.Value.PreviewTokenKey;
        _links = PreviewTokens.FromBase64Key(base64Key, time);
        var cookieKey = HKDF.DeriveKey(HashAlgorithmName.SHA256, Convert.FromBase64String(base64Key), 32, info: CookieKeyInfo);
        _cookies = new PreviewTokens(cookieKey, time);
        _cookieLifetime = gatewayOptions.Value.PreviewCookieLifetime;
    }

    public TimeSpan CookieLifetime => _cookieLifetime;

    /// <summary>Whether the cookie is marked Secure and prefixed whatever the request's scheme: everywhere but in Development.</summary>
    public bool SecureCookies { get; }

    public string CookieNameFor(PreviewMode mode) =>
        !SecureCookies ? CookieName : mode == PreviewMode.Host ? HostCookieName : PathCookieName;

    /// <summary>The user the API issued <paramref name="token"/> to, when it is authentic, unexpired and for this session.</summary>
    public string? ValidateToken(string? token, string sessionId) => _links.Validate(token, sessionId);

    public string? ValidateCookie(string? cookie, string sessionId) => _cookies.Validate(cookie, sessionId);

    public string IssueCookie(string sessionId, string userId) => _cookies.Issue(sessionId, userId, _cookieLifetime);
}
