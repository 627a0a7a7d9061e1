using System.Net.Http.Json;
using System.Text.Json;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using StoryDream.GoogleCloud;
using StoryDream.GoogleCloud.Firestore;
using StoryDream.Tests.Infrastructure;

namespace StoryDream.Tests.GoogleCloud.Firestore;

/// <summary>
/// A project of its own on the shared Firestore emulator, so a test sees only its own documents, with a
/// <see cref="FirestoreClient"/> built by the library's real registration.
/// </summary>
internal sealed class FirestoreEmulatorProject : IAsyncDisposable
{
    public const int TestTimeout = 60_000;

    private readonly ServiceProvider _services;

    private FirestoreEmulatorProject(ServiceProvider services, string host, string projectId)
    {
        _services = services;
        Host = host;
        ProjectId = projectId;
        Client = services.GetRequiredService<FirestoreClient>();
    }

    public string Host { get; }

    public string ProjectId { get; }

    public FirestoreClient Client { get; }

    public string DocumentsUri => $"http://{Host}/v1/projects/{ProjectId}/databases/(default)/documents";

    public static async Task<FirestoreEmulatorProject> CreateAsync(TestServers servers, Action<IServiceCollection>? configure = null)
    {
        var host = await servers.FirestoreEmulatorHostAsync();
        var projectId = "test-" + Guid.NewGuid().ToString("N")[..20];
        var configuration = new ConfigurationBuilder()
            .AddInMemoryCollection(new Dictionary<string, string?>
            {
                ["GoogleCloud:ProjectId"] = projectId,
                ["GoogleCloud:FirestoreEmulatorHost"] = host,
            })
            .Build();
        var services = new ServiceCollection();
        configure?.Invoke(services);
        services.AddGoogleCloud(configuration);
        return new FirestoreEmulatorProject(services.BuildServiceProvider(validateScopes: true), host, projectId);
    }

    /// <summary>The document as the emulator stores it, read with a plain HTTP GET, to check the typed JSON the client wrote.</summary>
    public async Task<JsonElement> RawFieldsAsync(string path)
    {
        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(30) };
        using var request = new HttpRequestMessage(HttpMethod.Get, $"{DocumentsUri}/{path}");
        request.Headers.Authorization = new("Bearer", "owner");
        using var response = await http.SendAsync(request, TestContext.Current.CancellationToken);
        response.EnsureSuccessStatusCode();
        var document = await response.Content.ReadFromJsonAsync<JsonElement>(TestContext.Current.CancellationToken);
        return document.GetProperty("fields");
    }

    public async ValueTask DisposeAsync()
    {
        // Emptying the project keeps the shared emulator small over a long test run.
        using (var http = new HttpClient { Timeout = TimeSpan.FromSeconds(30) })
        {
            using var response = await http.DeleteAsync(new Uri($"http://{Host}/emulator/v1/projects/{ProjectId}/databases/(default)/documents"));
        }
        await _services.DisposeAsync();
    }
}
