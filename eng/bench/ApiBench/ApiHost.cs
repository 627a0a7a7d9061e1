using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Security.Cryptography;
using Microsoft.AspNetCore.Mvc.Testing;
using Microsoft.Extensions.DependencyInjection;
using StoryDream.Api.Auth;
using StoryDream.Api.Projects;
using StoryDream.Bench;
using StoryDream.GoogleCloud.Firestore;
using Google.Cloud.Storage.V1;
using Microsoft.Extensions.Options;
using StoryDream.GoogleCloud.Storage;

namespace ApiBench;

/// <summary>
/// The API as the app host runs it, in this process on Kestrel (loopback, a free port) over real Redis and the
/// emulators, with its own Google Cloud project id and bucket. Callers reach it through real HTTP with dev JWTs.
/// </summary>
internal sealed class ApiHost : IAsyncDisposable
{
    private const string Issuer = "storydream-bench";
    private const string Audience = "storydream-bench";
    private readonly WebApplicationFactory<StoryDream.Api.Program> _api;
    private readonly string _signingKey;
    private readonly string _stateDirectory;
    private readonly SocketsHttpHandler _handler = new();

    private ApiHost(WebApplicationFactory<StoryDream.Api.Program> api, Uri baseAddress, string signingKey, string stateDirectory)
    {
        _api = api;
        BaseAddress = baseAddress;
        _signingKey = signingKey;
        _stateDirectory = stateDirectory;
    }

    public Uri BaseAddress { get; }

    /// <summary>The API's own Firestore client (same options, same HTTP pipeline).</summary>
    public FirestoreClient Firestore => _api.Services.GetRequiredService<FirestoreClient>();

    /// <summary>The API's own Cloud Storage client.</summary>
    public StorageClient Storage => _api.Services.GetRequiredService<StorageClient>();

    /// <summary>The API's storage settings: its bucket, and the upload and download options it uses.</summary>
    public StorageOptions StorageOptions => _api.Services.GetRequiredService<IOptions<StorageOptions>>().Value;

    public static ApiHost Start(string redis, string firestore, string storage)
    {
        var signingKey = DevTokens.NewSigningKey();
        var stateDirectory = Path.Combine(Path.GetTempPath(), "sd-bench-api-" + Guid.NewGuid().ToString("N")[..8]);
        var settings = InProcessHost.CloudSettings(redis, firestore, storage);
        settings["Auth:Issuer"] = Issuer;
        settings["Auth:Audience"] = Audience;
        settings["Auth:SigningKey"] = signingKey;
        // The 1,000-project seed is a burst from one user; the limiter is not what is measured.
        settings["RateLimiting:PermitLimit"] = "1000000";
        settings["Sessions:PreviewTokenKey"] = Convert.ToBase64String(RandomNumberGenerator.GetBytes(32));
        settings["Sessions:Local:StateDirectory"] = stateDirectory;
        var api = InProcessHost.Create<StoryDream.Api.Program>(settings);
        var baseAddress = InProcessHost.StartOnLoopback(api);
        return new ApiHost(api, baseAddress, signingKey, stateDirectory);
    }

    /// <summary>A client signed in as <paramref name="userId"/>; clients share one connection pool, kept alive.</summary>
    public HttpClient ClientFor(string userId)
    {
        var http = new HttpClient(_handler, disposeHandler: false) { BaseAddress = BaseAddress, Timeout = TimeSpan.FromMinutes(2) };
        http.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", DevTokens.Mint(_signingKey, Issuer, Audience, userId));
        return http;
    }

    /// <summary>POST /api/projects with the default template; the created project, checked.</summary>
    public static async Task<ProjectResponse> CreateProjectAsync(HttpClient http, string name)
    {
        using var response = await http.PostAsJsonAsync("api/projects", new { name });
        if (response.StatusCode != HttpStatusCode.Created)
        {
            throw new InvalidOperationException($"POST /api/projects answered {(int)response.StatusCode}: {await response.Content.ReadAsStringAsync()}");
        }
        return await response.Content.ReadFromJsonAsync<ProjectResponse>() ?? throw new InvalidOperationException("POST /api/projects answered no body.");
    }

    public async ValueTask DisposeAsync()
    {
        await _api.DisposeAsync();
        _handler.Dispose();
        if (Directory.Exists(_stateDirectory)) { Directory.Delete(_stateDirectory, recursive: true); }
    }
}
