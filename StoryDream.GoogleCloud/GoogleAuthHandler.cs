using System.Net.Http.Headers;
using Google.Apis.Auth.OAuth2;

namespace StoryDream.GoogleCloud;

/// <summary>
/// Puts the bearer token on every request: <c>owner</c> for an emulator, otherwise an access token from
/// Application Default Credentials. The credential is loaded on first use, never when an emulator is configured,
/// and <see cref="ITokenAccess"/> caches and refreshes its token itself.
/// </summary>
public sealed class GoogleAuthHandler : DelegatingHandler
{
    public const string CloudPlatformScope = "https://www.googleapis.com/auth/cloud-platform";
    private const string EmulatorToken = "owner";

    private readonly bool _emulator;
    private readonly Lazy<Task<ITokenAccess>> _credential;

    public GoogleAuthHandler(bool emulator, Func<Task<ITokenAccess>>? credentialFactory = null)
    {
        _emulator = emulator;
        _credential = new(credentialFactory ?? LoadApplicationDefaultAsync, LazyThreadSafetyMode.ExecutionAndPublication);
    }

    protected override async Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(request);
        var token = _emulator
            ? EmulatorToken
            : await (await _credential.Value).GetAccessTokenForRequestAsync(request.RequestUri?.ToString(), cancellationToken);
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", token);
        return await base.SendAsync(request, cancellationToken);
    }

    internal static async Task<ITokenAccess> LoadApplicationDefaultAsync()
    {
        var credential = await GoogleCredential.GetApplicationDefaultAsync();
        return credential.CreateScoped(CloudPlatformScope);
    }
}
