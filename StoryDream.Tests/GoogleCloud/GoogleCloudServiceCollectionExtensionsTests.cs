using Google.Apis.Auth.OAuth2;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using StoryDream.GoogleCloud;
using StoryDream.GoogleCloud.Firestore;
using StoryDream.Tests.GoogleCloud.Firestore;
using StoryDream.Tests.Infrastructure;

namespace StoryDream.Tests.GoogleCloud;

public sealed class GoogleCloudServiceCollectionExtensionsTests(TestServers servers)
{
    private static CancellationToken Token => TestContext.Current.CancellationToken;

    [Fact(Timeout = FirestoreEmulatorProject.TestTimeout)]
    public async Task AddGoogleCloud_EmulatorMode_FirestoreWorksWithoutEverLoadingCredentials()
    {
        var loads = 0;
        await using var project = await FirestoreEmulatorProject.CreateAsync(servers, services =>
            services.AddSingleton(new GoogleCredentialSource(() =>
            {
                Interlocked.Increment(ref loads);
                throw new InvalidOperationException("Emulator mode must not load credentials.");
            })));

        await project.Client.CreateAsync("notes/n1", new Dictionary<string, object?> { ["text"] = "hi" }, Token);
        var document = await project.Client.GetAsync<Dictionary<string, string>>("notes/n1", Token);

        Assert.Equal("hi", document!.Data["text"]);
        Assert.Equal(0, loads);
    }

    [Fact]
    public async Task AddGoogleCloud_ProductionMode_EveryClientSharesOneCredential()
    {
        var loads = 0;
        var credential = new GoogleAuthHandlerTests.FakeTokenAccess();
        var capture = new GoogleAuthHandlerTests.CapturingHandler();
        var services = new ServiceCollection();
        services.AddSingleton(new GoogleCredentialSource(() =>
        {
            Interlocked.Increment(ref loads);
            return Task.FromResult<ITokenAccess>(credential);
        }));
        services.AddGoogleCloud(Configuration(new() { ["GoogleCloud:ProjectId"] = "prod-project" }));
        // Stop at the edge of the process: this checks the handler chain, not Firestore.
        services.AddHttpClient(nameof(FirestoreClient)).ConfigurePrimaryHttpMessageHandler(() => capture);
        await using var provider = services.BuildServiceProvider();
        var factory = provider.GetRequiredService<IHttpClientFactory>();

        foreach (var path in new[] { "a", "b" })
        {
            using var http = factory.CreateClient(nameof(FirestoreClient));
            await http.GetAsync(new Uri($"https://firestore.example.invalid/{path}"), Token);
        }

        Assert.Equal(["Bearer token-1", "Bearer token-2"], capture.Authorizations);
        Assert.Equal(1, loads);
    }

    [Fact]
    public void AddGoogleCloud_EnvironmentStyleKeys_FillTheEmulatorHostsUnlessTheSectionSetsThem()
    {
        var fromVariables = Options(new() { ["FIRESTORE_EMULATOR_HOST"] = "127.0.0.1:8080", ["STORAGE_EMULATOR_HOST"] = "127.0.0.1:9199" });
        var fromSection = Options(new() { ["FIRESTORE_EMULATOR_HOST"] = "127.0.0.1:8080", ["GoogleCloud:FirestoreEmulatorHost"] = "127.0.0.1:7000" });

        Assert.Equal("127.0.0.1:8080", fromVariables.FirestoreEmulatorHost);
        Assert.Equal("127.0.0.1:9199", fromVariables.StorageEmulatorHost);
        Assert.Equal("127.0.0.1:7000", fromSection.FirestoreEmulatorHost);
    }

    [Theory]
    [InlineData("localhost")]
    [InlineData("127.0.0.1:8080/v1")]
    [InlineData("user@127.0.0.1:8080")]
    [InlineData("https://127.0.0.1:8080")]
    public void AddGoogleCloud_MalformedEmulatorHost_FailsValidation(string host)
    {
        var error = Assert.Throws<OptionsValidationException>(() => Options(new() { ["GoogleCloud:FirestoreEmulatorHost"] = host }));

        Assert.Contains("FirestoreEmulatorHost", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void AddGoogleCloud_EmptyProjectId_FailsValidation()
    {
        Assert.Throws<OptionsValidationException>(() => Options(new() { ["GoogleCloud:ProjectId"] = "" }));
    }

    [Theory]
    [InlineData("127.0.0.1:8080", "http://127.0.0.1:8080/")]
    [InlineData("http://localhost:8080/", "http://localhost:8080/")]
    [InlineData(" [::1]:8080 ", "http://[::1]:8080/")]
    public void TryGetEmulatorBaseUri_HostPort_GivesHttpBase(string host, string expected)
    {
        Assert.True(FirestoreClient.TryGetEmulatorBaseUri(host, out var uri));
        Assert.Equal(expected, uri.ToString());
    }

    private static GoogleCloudOptions Options(Dictionary<string, string?> values)
    {
        var services = new ServiceCollection().AddGoogleCloud(Configuration(values));
        using var provider = services.BuildServiceProvider();
        return provider.GetRequiredService<IOptions<GoogleCloudOptions>>().Value;
    }

    private static IConfiguration Configuration(Dictionary<string, string?> values) =>
        new ConfigurationBuilder().AddInMemoryCollection(values).Build();
}
