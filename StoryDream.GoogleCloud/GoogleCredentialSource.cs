using Google.Apis.Auth.OAuth2;

namespace StoryDream.GoogleCloud;

/// <summary>
/// One credential per process. <see cref="IHttpClientFactory"/> recycles its handlers every few minutes, so a
/// credential owned by a <see cref="GoogleAuthHandler"/> would be reloaded, and its cached token lost, each time.
/// </summary>
internal sealed class GoogleCredentialSource(Func<Task<ITokenAccess>> load)
{
    private readonly Lazy<Task<ITokenAccess>> _credential = new(load, LazyThreadSafetyMode.ExecutionAndPublication);

    public Task<ITokenAccess> GetAsync() => _credential.Value;
}
