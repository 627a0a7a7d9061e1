using System.Net;
using Microsoft.AspNetCore.Http.Extensions;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.Extensions.Options;
using Yarp.ReverseProxy.Forwarder;

namespace StoryDream.SessionGateway.Preview;

internal enum PreviewMode
{
    /// <summary><c>{sessionId}.{PreviewDomain}</c>: the cookie belongs to that host.</summary>
    Host,

    /// <summary><c>/preview/{sessionId}/**</c>: the cookie belongs to that path.</summary>
    Path,
}

/// <summary>
/// Carries one preview request, HTTP or WebSocket, to its session's pod: checks the user's token or cookie, finds the pod
/// and forwards with <see cref="IHttpForwarder"/> over one shared <see cref="HttpMessageInvoker"/>. The path is forwarded
/// unchanged in both modes: in path mode the pod's Vite runs with base <c>/preview/{sessionId}/</c>, in host mode with <c>/</c>.
/// </summary>
internal sealed partial class PreviewForwarder : IDisposable
{
    // HTTP requests keep YARP's default activity timeout; only upgraded connections get the long one.
    private static readonly ForwarderRequestConfig HttpConfig = new()
    {
        ActivityTimeout = TimeSpan.FromSeconds(100),
        Version = HttpVersion.Version11,
        VersionPolicy = HttpVersionPolicy.RequestVersionOrLower,
    };

    // How long a checked cookie is trusted without checking its signature again; far below any cookie lifetime.
    private static readonly TimeSpan AcceptedCookieWindow = TimeSpan.FromMinutes(1);

    private readonly IHttpForwarder _forwarder;
    private readonly SessionDestinations _destinations;
    private readonly PreviewAccess _access;
    private readonly SessionActivity _activity;
    private readonly TimeProvider _time;
    private readonly ILogger<PreviewForwarder> _logger;
    private readonly GatewayOptions _options;
    private readonly ForwarderRequestConfig _upgradeConfig;
    private readonly HttpMessageInvoker _invoker;
    private readonly long _acceptedCookieTicks;

    public PreviewForwarder(
        IHttpForwarder forwarder, SessionDestinations destinations, PreviewAccess access, SessionActivity activity,
        IOptions<GatewayOptions> options, TimeProvider time, ILogger<PreviewForwarder> logger)
    {
        _forwarder = forwarder;
        _destinations = destinations;
        _access = access;
        _activity = activity;
        _time = time;
        _logger = logger;
        _options = options.Value;
        _upgradeConfig = HttpConfig with { ActivityTimeout = _options.WebSocketActivityTimeout };
        _acceptedCookieTicks = (long)(AcceptedCookieWindow.TotalSeconds * time.TimestampFrequency);
        // YARP's direct-forwarding set-up: the pod's responses pass through untouched (no redirects followed, no
        // decompression, no cookie jar). Unlike the sample, no trace context: preview requests are left out of traces
        // (GatewayServiceExtensions) and the pod records none, while the diagnostics handler a propagator brings in would
        // start an activity for every forwarded request (eng/bench). The client's metrics remain.
        _invoker = new HttpMessageInvoker(new SocketsHttpHandler
        {
            UseProxy = false,
            AllowAutoRedirect = false,
            AutomaticDecompression = DecompressionMethods.None,
            UseCookies = false,
            ActivityHeadersPropagator = null,
            ConnectTimeout = TimeSpan.FromSeconds(5),
        });
    }

    public Task HandleAsync(HttpContext context, ReadOnlySpan<char> sessionId, PreviewMode mode)
    {
        // Warm path: a cookie already checked for a cached session. No Redis, no HMAC, no allocation of our own.
        if (!MayHaveToken(context.Request.QueryString))
        {
            var cookie = PreviewCookies.Find(context.Request.Headers.Cookie);
            if (!cookie.IsEmpty && _destinations.TryGetCached(sessionId, out var destination)
                && destination.IsAccepted(cookie, _time.GetTimestamp()))
            {
                return ForwardAsync(context, destination);
            }
        }
        return HandleColdAsync(context, sessionId.ToString(), mode);
    }

    public void Dispose() => _invoker.Dispose();

    private async Task HandleColdAsync(HttpContext context, string sessionId, PreviewMode mode)
    {
        var request = context.Request;
        var cookie = PreviewCookies.Find(request.Headers.Cookie) is { IsEmpty: false } found ? found.ToString() : null;
        var cookieUser = _access.ValidateCookie(cookie, sessionId);
        var token = MayHaveToken(request.QueryString) && request.Query.TryGetValue(PreviewAccess.TokenParameter, out var values) ? values.ToString() : null;
        string? user;

        if (token is not null)
        {
            var tokenUser = _access.ValidateToken(token, sessionId);
            user = tokenUser ?? cookieUser;
            if (user is null)
            {
                LogDenied(_logger, sessionId, "invalid token");
                await PreviewPages.WriteUnauthorizedAsync(context);
                return;
            }
            if (!IsUpgrade(context) && (HttpMethods.IsGet(request.Method) || HttpMethods.IsHead(request.Method)))
            {
                await RedirectToCleanUrlAsync(context, sessionId, mode, tokenUser);
                return;
            }
            // A WebSocket or a POST cannot follow a redirect: the token stands for this one request and goes no further.
            request.QueryString = WithoutToken(request.QueryString);
            cookie = null;
        }
        else if (cookieUser is null)
        {
            LogDenied(_logger, sessionId, cookie is null ? "no token or cookie" : "invalid cookie");
            await PreviewPages.WriteUnauthorizedAsync(context);
            return;
        }
        else
        {
            user = cookieUser;
        }

        var lookup = await _destinations.GetAsync(sessionId);
        switch (lookup.Status)
        {
            case LookupStatus.NotFound:
                await PreviewPages.WriteNotFoundAsync(context);
                return;
            case LookupStatus.Starting:
                await PreviewPages.WriteStartingAsync(context);
                return;
            case LookupStatus.Unavailable:
                await PreviewPages.WriteUnavailableAsync(context);
                return;
        }

        var destination = lookup.Destination!;
        // Tokens come only from the API, which issues them to the session's owner; anyone else is told what a stranger is.
        if (!string.Equals(destination.OwnerId, user, StringComparison.Ordinal))
        {
            LogDenied(_logger, sessionId, "not the session's owner");
            await PreviewPages.WriteNotFoundAsync(context);
            return;
        }
        if (cookie is not null)
        {
            destination.Accept(cookie, _time.GetTimestamp() + _acceptedCookieTicks);
        }
        await ForwardAsync(context, destination);
    }

    private async Task ForwardAsync(HttpContext context, SessionDestination destination)
    {
        _activity.Touch(destination.SessionId);
        var config = IsUpgrade(context) ? _upgradeConfig : HttpConfig;
        var error = await _forwarder.SendAsync(context, destination.PreviewPrefix, _invoker, config, destination.Transformer);
        if (error != ForwarderError.None)
        {
            await OnForwardErrorAsync(context, destination, error);
        }
    }

    private async Task OnForwardErrorAsync(HttpContext context, SessionDestination destination, ForwarderError error)
    {
        var exception = context.GetForwarderErrorFeature()?.Exception;
        if (context.RequestAborted.IsCancellationRequested || error is ForwarderError.RequestCanceled or ForwarderError.RequestBodyCanceled
            or ForwarderError.ResponseBodyCanceled or ForwarderError.UpgradeRequestCanceled or ForwarderError.UpgradeResponseCanceled)
        {
            LogClientGone(_logger, destination.SessionId, error);
            return;
        }
        LogForwardFailed(_logger, destination.SessionId, destination.PreviewPrefix, error, exception);
        if (error is ForwarderError.Request or ForwarderError.RequestCreation)
        {
            // The pod did not take the connection: its address may have changed, so the next request asks Redis again.
            _destinations.Invalidate(destination.SessionId);
        }
        if (!context.Response.HasStarted && context.Response.StatusCode >= StatusCodes.Status500InternalServerError)
        {
            await PreviewPages.WriteUnreachableAsync(context);
        }
    }

    private Task RedirectToCleanUrlAsync(HttpContext context, string sessionId, PreviewMode mode, string? tokenUser)
    {
        var request = context.Request;
        // "//host" would make the relative Location point at another site.
        if (request.Path.Value is { } path && (path.StartsWith("//", StringComparison.Ordinal) || path.StartsWith("/\\", StringComparison.Ordinal)))
        {
            return PreviewPages.WriteBadPathAsync(context);
        }
        var response = context.Response;
        if (tokenUser is not null)
        {
            var cookie = new CookieOptions
            {
                Path = mode == PreviewMode.Host ? "/" : $"{PreviewEndpoints.PathPrefix}/{sessionId}",
                HttpOnly = true,
                // Browsers drop SameSite=None cookies that are not Secure.
                Secure = request.IsHttps || _options.PreviewCookieSameSite == SameSiteMode.None,
                SameSite = _options.PreviewCookieSameSite,
                MaxAge = _access.CookieLifetime,
            };
            // A preview on another site than the studio embedding it is a third-party frame: browsers that block
            // third-party cookies still keep a partitioned one (CHIPS), scoped to the studio's site.
            if (_options.PreviewCookieSameSite == SameSiteMode.None) { cookie.Extensions.Add("Partitioned"); }
            response.Cookies.Append(PreviewAccess.CookieName, _access.IssueCookie(sessionId, tokenUser), cookie);
            LogCookieSet(_logger, sessionId);
        }
        response.StatusCode = StatusCodes.Status302Found;
        response.Headers.Location = UriHelper.BuildRelative(request.PathBase, request.Path, WithoutToken(request.QueryString));
        response.Headers.CacheControl = "no-store";
        return Task.CompletedTask;
    }

    private static bool MayHaveToken(QueryString query) =>
        query.Value is { } value && value.Contains("sd", StringComparison.OrdinalIgnoreCase);

    private static bool IsUpgrade(HttpContext context) =>
        context.Features.Get<IHttpUpgradeFeature>()?.IsUpgradableRequest == true
        || context.Features.Get<IHttpExtendedConnectFeature>()?.IsExtendedConnect == true;

    /// <summary>The query without any <c>sd_token</c> parameter, the rest in its order and encoding.</summary>
    internal static QueryString WithoutToken(QueryString query)
    {
        if (query.Value is not { Length: > 1 } value) { return query; }
        var kept = new List<string>();
        foreach (var range in value.AsSpan(1).Split('&'))
        {
            var pair = value.AsSpan(1)[range];
            if (pair.IsEmpty) { continue; }
            var equals = pair.IndexOf('=');
            var name = equals < 0 ? pair : pair[..equals];
            if (IsTokenName(name)) { continue; }
            kept.Add(pair.ToString());
        }
        return kept.Count == 0 ? QueryString.Empty : new QueryString("?" + string.Join('&', kept));
    }

    private static bool IsTokenName(ReadOnlySpan<char> name) =>
        name.SequenceEqual(PreviewAccess.TokenParameter)
        || (name.Contains('%') && string.Equals(Uri.UnescapeDataString(name.ToString()), PreviewAccess.TokenParameter, StringComparison.Ordinal));

    [LoggerMessage(EventId = 40, Level = LogLevel.Debug, Message = "Preview of session {SessionId} refused: {Reason}.")]
    private static partial void LogDenied(ILogger logger, string sessionId, string reason);

    [LoggerMessage(EventId = 41, Level = LogLevel.Debug, Message = "Preview cookie set for session {SessionId}.")]
    private static partial void LogCookieSet(ILogger logger, string sessionId);

    [LoggerMessage(EventId = 42, Level = LogLevel.Warning, Message = "Forwarding to session {SessionId} at {Destination} failed: {Error}.")]
    private static partial void LogForwardFailed(ILogger logger, string sessionId, string destination, ForwarderError error, Exception? exception);

    [LoggerMessage(EventId = 43, Level = LogLevel.Debug, Message = "The client of session {SessionId} went away during forwarding: {Error}.")]
    private static partial void LogClientGone(ILogger logger, string sessionId, ForwarderError error);
}
