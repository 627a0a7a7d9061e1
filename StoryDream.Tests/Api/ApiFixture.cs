using System.Net.Http.Headers;
using System.Net.Http.Json;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Mvc.Testing;
using Microsoft.AspNetCore.TestHost;
using Microsoft.Extensions.DependencyInjection;
using StoryDream.Api.Auth;
using StoryDream.Api.Projects;
using StoryDream.Tests.Infrastructure;
using StoryDream.Tests.SyncWorker;

namespace StoryDream.Tests.Api;

/// <summary>
/// The API in memory (WebApplicationFactory) against the shared Firestore and Storage emulators, with its own
/// Google Cloud project id and bucket, so a test class sees only its own data. Tests make their own users.
/// </summary>
public sealed class ApiFixture(TestServers servers) : IAsyncLifetime
{
    public const string Issuer = "storydream-test";
    public const string Audience = "storydream-api-test";

    private WebApplicationFactory<StoryDream.Api.Program>? _factory;
    private RedisDatabaseLease? _redis;
    private readonly string _sessionState = Path.Combine(Path.GetTempPath(), "sd-api-" + Guid.NewGuid().ToString("N")[..12]);

    public string SigningKey { get; } = DevTokens.NewSigningKey();

    public string ProjectId { get; } = "t-" + Guid.NewGuid().ToString("N")[..20];

    public string Bucket { get; } = "bucket-" + Guid.NewGuid().ToString("N")[..16];

    public WebApplicationFactory<StoryDream.Api.Program> Factory => _factory ?? throw new InvalidOperationException("Not initialized.");

    public IServiceProvider Services => Factory.Services;

    /// <summary>Settings a test class may add or override (for example a tiny rate limit).</summary>
    public Dictionary<string, string?> Settings { get; } = [];

    /// <summary>Serve over a real Kestrel on a free loopback port instead of the in-memory test server.</summary>
    public bool UseKestrel { get; set; }

    /// <summary>Services a test puts in place of the API's own (set before <see cref="InitializeAsync"/>).</summary>
    public Action<IServiceCollection>? ConfigureServices { get; set; }

    public async ValueTask InitializeAsync()
    {
        // Sessions scan their Redis database on start; a database of its own keeps this API off other tests' sessions.
        _redis = await RedisDatabaseLease.RentAsync(servers);
        var firestore = await servers.FirestoreEmulatorHostAsync();
        var storage = await servers.StorageEmulatorHostAsync();
        var settings = new Dictionary<string, string?>
        {
            ["GoogleCloud:ProjectId"] = ProjectId,
            ["GoogleCloud:FirestoreEmulatorHost"] = firestore,
            ["GoogleCloud:StorageEmulatorHost"] = storage,
            ["GoogleCloud:Storage:Bucket"] = Bucket,
            ["Auth:Issuer"] = Issuer,
            ["Auth:Audience"] = Audience,
            ["Auth:SigningKey"] = SigningKey,
            ["RateLimiting:PermitLimit"] = "100000",
            ["ConnectionStrings:redis"] = _redis.ConnectionString,
            ["Sessions:PreviewTokenKey"] = DevTokens.NewSigningKey(),
            ["Sessions:Local:StateDirectory"] = _sessionState,
            // No render pod waiting in every test host; the export tests keep one.
            ["Exports:WarmRenderPods"] = "0",
        };
        foreach (var (key, value) in Settings) { settings[key] = value; }
        _factory = new WebApplicationFactory<StoryDream.Api.Program>().WithWebHostBuilder(builder =>
        {
            builder.UseEnvironment("Development");
            // UseSetting, not ConfigureAppConfiguration: AddRedisClient reads its connection string while services are registered.
            foreach (var (key, value) in settings) { builder.UseSetting(key, value); }
            if (ConfigureServices is { } configure) { builder.ConfigureTestServices(configure); }
        });
        if (UseKestrel)
        {
            // An explicit loopback endpoint: UseKestrel(0) leaves Kestrel on its default, port 5000, shared by every caller.
            _factory.UseKestrel(kestrel => kestrel.Listen(System.Net.IPAddress.Loopback, 0));
            _factory.StartServer();
        }
        else
        {
            _ = _factory.Server;
        }
    }

    public async ValueTask DisposeAsync()
    {
        if (_factory is not null) { await _factory.DisposeAsync(); }
        if (_redis is not null) { await _redis.DisposeAsync(); }
        await TempDirectories.DeleteAsync(_sessionState);
    }

    public string Token(string userId, string? audience = null, string? issuer = null, TimeSpan? lifetime = null, DateTimeOffset? now = null, string? key = null) =>
        DevTokens.Mint(key ?? SigningKey, issuer ?? Issuer, audience ?? Audience, userId, $"{userId}@example.com", userId, lifetime, now);

    public HttpClient Client(string? userId = null)
    {
        var client = UseKestrel
            ? new HttpClient { BaseAddress = new Uri(Factory.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First()) }
            : Factory.CreateClient(new WebApplicationFactoryClientOptions { AllowAutoRedirect = false });
        client.Timeout = TimeSpan.FromSeconds(60);
        if (userId is not null) { client.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", Token(userId)); }
        return client;
    }

    public static string NewUser() => "user-" + Guid.NewGuid().ToString("N");

    public T Service<T>() where T : notnull => Services.GetRequiredService<T>();

    public static async Task<ProjectResponse> CreateProjectAsync(HttpClient client, string name = "My video")
    {
        var response = await client.PostAsJsonAsync("/api/projects", new { name }, TestContext.Current.CancellationToken);
        response.EnsureSuccessStatusCode();
        return (await response.Content.ReadFromJsonAsync<ProjectResponse>(TestContext.Current.CancellationToken))!;
    }
}
