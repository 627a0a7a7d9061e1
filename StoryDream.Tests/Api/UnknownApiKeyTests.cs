using System.Net;
using System.Net.Http.Json;
using Microsoft.Extensions.DependencyInjection;
using StoryDream.Api.Auth;
using StoryDream.Tests.Infrastructure;

namespace StoryDream.Tests.Api;

public sealed class UnknownApiKeyTests(TestServers servers)
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact(Timeout = 120_000)]
    public async Task ApiKey_UnknownClientIdRepeated_ReadOnceAndRefusedEachTime()
    {
        var reads = new ReadCounter();
        var api = new ApiFixture(servers)
        {
            ConfigureServices = services => services.AddSingleton<IApiKeyStore>(sp =>
                new CountingApiKeyStore(ActivatorUtilities.CreateInstance<FirestoreApiKeyStore>(sp), reads)),
        };
        await api.InitializeAsync();
        try
        {
            var random = ApiKeyFormat.New(Guid.NewGuid().ToString("D"));
            for (var i = 0; i < 5; i++)
            {
                using var stranger = api.Client();
                stranger.DefaultRequestHeaders.Add("X-Api-Key", random);
                await ProblemAssert.IsProblemAsync(await stranger.GetAsync("/api/projects", Ct), HttpStatusCode.Unauthorized, "unauthorized");
            }
            Assert.Equal(1, reads.Of(ApiKeyFormat.ClientId(random)!));

            // A real key is still read every time, so revoking it still takes effect at once.
            using var owner = api.Client(ApiFixture.NewUser());
            var key = (await (await owner.PostAsJsonAsync("/api/keys", new { name = "CI" }, Ct)).Content.ReadFromJsonAsync<CreatedApiKeyResponse>(Ct))!;
            using var headless = api.Client();
            headless.DefaultRequestHeaders.Add("X-Api-Key", key.Key);
            Assert.Equal(HttpStatusCode.OK, (await headless.GetAsync("/api/projects", Ct)).StatusCode);
            Assert.Equal(HttpStatusCode.OK, (await headless.GetAsync("/api/projects", Ct)).StatusCode);
            Assert.Equal(2, reads.Of(key.Id));
        }
        finally
        {
            await api.DisposeAsync();
        }
    }

    private sealed class ReadCounter
    {
        private readonly System.Collections.Concurrent.ConcurrentDictionary<string, int> _reads = new(StringComparer.Ordinal);

        public void Add(string clientId) => _reads.AddOrUpdate(clientId, 1, (_, n) => n + 1);

        public int Of(string clientId) => _reads.GetValueOrDefault(clientId);
    }

    /// <summary>The real Firestore store, counting its reads of key documents.</summary>
    private sealed class CountingApiKeyStore(IApiKeyStore inner, ReadCounter reads) : IApiKeyStore
    {
        public Task CreateAsync(ApiClient client, CancellationToken cancellationToken) => inner.CreateAsync(client, cancellationToken);

        public Task<ApiClient?> FindAsync(string clientId, CancellationToken cancellationToken)
        {
            reads.Add(clientId);
            return inner.FindAsync(clientId, cancellationToken);
        }

        public Task<IReadOnlyList<ApiClient>> ListAsync(string ownerId, CancellationToken cancellationToken) => inner.ListAsync(ownerId, cancellationToken);

        public Task<bool> DeleteAsync(string ownerId, string clientId, CancellationToken cancellationToken) => inner.DeleteAsync(ownerId, clientId, cancellationToken);

        public Task TouchAsync(string clientId, DateTimeOffset usedAt, CancellationToken cancellationToken) => inner.TouchAsync(clientId, usedAt, cancellationToken);
    }
}
