using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Net.WebSockets;
using System.Security.Cryptography;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Mvc.Testing;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using StoryDream.Api.Auth;
using StoryDream.Api.Chat;
using StoryDream.Api.Projects;
using StoryDream.Api.Sessions;
using StoryDream.Tests.Api.Chat;
using StoryDream.Tests.Infrastructure;
using StoryDream.Tests.SyncWorker;

namespace StoryDream.Tests.Api.Sessions;

/// <summary>
/// Everything a session needs, real: a Redis database of its own (so maintenance and reconcile passes see only this
/// bed's sessions), the Firestore and Storage emulators under a Google Cloud project and bucket of its own, the sync
/// worker in process, one or more API replicas on Kestrel, and session pods (the scripted agent) in a state folder of
/// its own. Disposing it stops every pod it started.
/// </summary>
public sealed class SessionTestBed : IAsyncDisposable
{
    public const string Issuer = "storydream-test";
    public const string Audience = "storydream-api-test";
    private readonly List<ApiReplica> _replicas = [];
    private RedisDatabaseLease? _redis;
    private WebApplicationFactory<StoryDream.SyncWorker.Program>? _syncWorker;

    private SessionTestBed(Dictionary<string, string?> overrides) => Overrides = overrides;

    public string SigningKey { get; } = DevTokens.NewSigningKey();

    public string PreviewTokenKey { get; } = Convert.ToBase64String(RandomNumberGenerator.GetBytes(32));

    public string GoogleProjectId { get; } = "s-" + Guid.NewGuid().ToString("N")[..20];

    public string Bucket { get; } = "bucket-" + Guid.NewGuid().ToString("N")[..16];

    public string StateDirectory { get; } = Path.Combine(Path.GetTempPath(), "sd-sessions-" + Guid.NewGuid().ToString("N")[..12]);

    internal RedisDatabaseLease Redis => _redis ?? throw new InvalidOperationException("Not started.");

    public Dictionary<string, string?> Overrides { get; }

    public IReadOnlyList<ApiReplica> Replicas => _replicas;

    public ApiReplica Api => _replicas[0];

    /// <summary>Starts Redis, the emulators, the sync worker and one API replica.</summary>
    public static async Task<SessionTestBed> StartAsync(TestServers servers, Dictionary<string, string?>? overrides = null, TimeProvider? time = null)
    {
        ArgumentNullException.ThrowIfNull(servers);
        var bed = new SessionTestBed(overrides ?? []);
        try
        {
            bed._redis = await RedisDatabaseLease.RentAsync(servers);
            var settings = await bed.SharedSettingsAsync(servers);
            bed._syncWorker = new WebApplicationFactory<StoryDream.SyncWorker.Program>().WithWebHostBuilder(builder =>
            {
                foreach (var (key, value) in settings) { builder.UseSetting(key, value); }
                builder.UseSetting("SyncWorker:ReadBlockTime", "00:00:00.100");
                foreach (var (key, value) in bed.Overrides.Where(o => o.Key.StartsWith("SyncWorker:", StringComparison.Ordinal))) { builder.UseSetting(key, value); }
            });
            _ = bed._syncWorker.Services;
            await bed.AddApiAsync(servers, time);
            return bed;
        }
        catch
        {
            await bed.DisposeAsync();
            throw;
        }
    }

    /// <summary>Another API replica over the same Redis, emulators and state folder (or the first one).</summary>
    public async Task<ApiReplica> AddApiAsync(TestServers servers, TimeProvider? time = null, Action<IServiceCollection>? configureServices = null)
    {
        ArgumentNullException.ThrowIfNull(servers);
        var settings = await SharedSettingsAsync(servers);
        settings["Auth:Issuer"] = Issuer;
        settings["Auth:Audience"] = Audience;
        settings["Auth:SigningKey"] = SigningKey;
        settings["RateLimiting:PermitLimit"] = "100000";
        settings["Sessions:PreviewTokenKey"] = PreviewTokenKey;
        settings["Sessions:PublicPreviewUrl"] = "http://127.0.0.1:9/preview/{sessionId}/";
        settings["Sessions:Local:StateDirectory"] = StateDirectory;
        settings["Sessions:Local:Environment:STORYDREAM_AGENT"] = "scripted";
        // No render pod waiting in every test host; the export tests keep one.
        settings["Exports:WarmRenderPods"] = "0";
        foreach (var (key, value) in Overrides.Where(o => !o.Key.StartsWith("SyncWorker:", StringComparison.Ordinal))) { settings[key] = value; }

        var factory = new WebApplicationFactory<StoryDream.Api.Program>().WithWebHostBuilder(builder =>
        {
            builder.UseEnvironment("Development");
            foreach (var (key, value) in settings) { builder.UseSetting(key, value); }
            if (time is not null)
            {
                builder.ConfigureServices(services => services.Replace(ServiceDescriptor.Singleton(time)));
            }
            if (configureServices is not null) { builder.ConfigureServices(configureServices); }
        });
        factory.UseKestrel(kestrel => kestrel.Listen(IPAddress.Loopback, 0));
        factory.StartServer();
        var address = factory.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();
        var replica = new ApiReplica(this, factory, new Uri(address + "/"));
        _replicas.Add(replica);
        return replica;
    }

    /// <summary>Stops an API replica the way a crash or a deploy would: its pods live on.</summary>
    public async Task RemoveApiAsync(ApiReplica replica)
    {
        ArgumentNullException.ThrowIfNull(replica);
        _replicas.Remove(replica);
        await replica.Factory.DisposeAsync();
    }

    public string Token(string userId) => DevTokens.Mint(SigningKey, Issuer, Audience, userId, $"{userId}@example.com", userId);

    public static string NewUser() => "user-" + Guid.NewGuid().ToString("N");

    /// <summary>The runtime the replicas use, on this bed's state folder, for looking at pods from the outside.</summary>
    internal LocalSessionRuntime Runtime() =>
        new(Options.Create(new SessionOptions
        {
            Local = new LocalRuntimeOptions { StateDirectory = StateDirectory, Environment = { ["STORYDREAM_AGENT"] = "scripted" } },
        }), NullLogger<LocalSessionRuntime>.Instance);

    /// <summary>Session folders in the state folder: one per pod started and not deleted.</summary>
    public IReadOnlyList<string> PodFolders() =>
        Directory.Exists(StateDirectory) ? Directory.GetDirectories(StateDirectory).Select(Path.GetFileName).OfType<string>().ToList() : [];

    public string Workspace(string sessionId) => Path.Combine(StateDirectory, sessionId, "workspace");

    /// <summary>The pid of the session's pod process, from the local runtime's state file.</summary>
    public int PodPid(string sessionId)
    {
        using var state = System.Text.Json.JsonDocument.Parse(File.ReadAllText(Path.Combine(StateDirectory, sessionId, "state.json")));
        return state.RootElement.GetProperty("Pid").GetInt32();
    }

    /// <summary>Kills the session's pod (SIGKILL) and waits until it is dead, not merely signalled.</summary>
    public async Task KillPodAsync(string sessionId, CancellationToken cancellationToken)
    {
        using var pod = System.Diagnostics.Process.GetProcessById(PodPid(sessionId));
        // SIGKILL lands when the kernel next schedules the pod; until then it still runs, and would be found alive.
        pod.Kill();
        await pod.WaitForExitAsync(cancellationToken);
    }

    private async Task<Dictionary<string, string?>> SharedSettingsAsync(TestServers servers) => new()
    {
        ["ConnectionStrings:redis"] = Redis.ConnectionString,
        ["GoogleCloud:ProjectId"] = GoogleProjectId,
        ["GoogleCloud:FirestoreEmulatorHost"] = await servers.FirestoreEmulatorHostAsync(),
        ["GoogleCloud:StorageEmulatorHost"] = await servers.StorageEmulatorHostAsync(),
        ["GoogleCloud:Storage:Bucket"] = Bucket,
    };

    public async ValueTask DisposeAsync()
    {
        foreach (var replica in _replicas.ToList()) { await replica.Factory.DisposeAsync(); }
        _replicas.Clear();
        if (Directory.Exists(StateDirectory))
        {
            var runtime = Runtime();
            foreach (var pod in await runtime.ListAsync(CancellationToken.None)) { await runtime.DeleteAsync(pod.SessionId, CancellationToken.None); }
            // Render pods outlive the API as session pods do: a test that ends mid-render (a timeout) leaves one running.
            if (Directory.Exists(runtime.RenderDirectory))
            {
                foreach (var render in Directory.GetDirectories(runtime.RenderDirectory))
                {
                    await runtime.DeleteRenderAsync(Path.GetFileName(render), CancellationToken.None);
                }
            }
            await TempDirectories.DeleteAsync(StateDirectory);
        }
        if (_syncWorker is not null) { await _syncWorker.DisposeAsync(); }
        if (_redis is not null) { await _redis.DisposeAsync(); }
    }
}

/// <summary>One API process: HTTP over Kestrel, and the chat WebSocket.</summary>
public sealed class ApiReplica(SessionTestBed bed, WebApplicationFactory<StoryDream.Api.Program> factory, Uri baseAddress)
{
    public WebApplicationFactory<StoryDream.Api.Program> Factory { get; } = factory;

    public Uri BaseAddress { get; } = baseAddress;

    public IServiceProvider Services => Factory.Services;

    public T Service<T>() where T : notnull => Services.GetRequiredService<T>();

    public HttpClient Client(string? userId)
    {
        var client = new HttpClient { BaseAddress = BaseAddress, Timeout = TimeSpan.FromSeconds(120) };
        if (userId is not null) { client.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", bed.Token(userId)); }
        return client;
    }

    /// <summary>The chat WebSocket as the browser opens it: a ticket taken with the token, then the socket with <c>?ticket=</c>.</summary>
    public async Task<ChatSocket> ChatAsync(string projectId, string token, CancellationToken cancellationToken) =>
        await ChatWithTicketAsync(projectId, await ChatTicketAsync(projectId, token, cancellationToken), cancellationToken);

    /// <summary>A chat ticket for the project, taken with the bearer token.</summary>
    public async Task<string> ChatTicketAsync(string projectId, string token, CancellationToken cancellationToken)
    {
        using var client = new HttpClient { BaseAddress = BaseAddress, Timeout = TimeSpan.FromSeconds(30) };
        client.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", token);
        using var response = await client.PostAsync(new Uri($"api/projects/{projectId}/chat/ticket", UriKind.Relative), null, cancellationToken);
        if (!response.IsSuccessStatusCode) { throw new HttpRequestException($"The chat ticket was refused: {(int)response.StatusCode}", null, response.StatusCode); }
        return (await response.Content.ReadFromJsonAsync<ChatTicketResponse>(cancellationToken))!.Ticket;
    }

    public async Task<ChatSocket> ChatWithTicketAsync(string projectId, string ticket, CancellationToken cancellationToken)
    {
        var socket = new ClientWebSocket();
        var url = new UriBuilder(new Uri(BaseAddress, $"api/projects/{projectId}/chat")) { Scheme = "ws", Query = $"ticket={Uri.EscapeDataString(ticket)}" };
        try
        {
            await socket.ConnectAsync(url.Uri, cancellationToken);
        }
        catch
        {
            socket.Dispose();
            throw;
        }
        return new ChatSocket(socket);
    }

    public async Task<ProjectResponse> CreateProjectAsync(HttpClient client, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(client);
        var response = await client.PostAsJsonAsync(new Uri(BaseAddress, "api/projects"), new { name = "Session test" }, cancellationToken);
        response.EnsureSuccessStatusCode();
        return (await response.Content.ReadFromJsonAsync<ProjectResponse>(cancellationToken))!;
    }
}
