using Google.Apis.Auth.OAuth2;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using StoryDream.GoogleCloud;
using StoryDream.GoogleCloud.Storage;
using StoryDream.Tests.Infrastructure;

namespace StoryDream.Tests.GoogleCloud.Storage;

public sealed class StorageRegistrationTests(TestServers servers)
{
    private const int Timeout = 60_000;

    [Fact(Timeout = Timeout)]
    public async Task AddStorageClient_EmulatorHost_SendsOwnerTokenAndNeverLoadsCredentials()
    {
        var ct = TestContext.Current.CancellationToken;
        var credentialLoads = 0;
        RecordingHandler? recorder = null;
        await using var storage = await StorageTestClient.CreateAsync(servers,
            wrapTransport: inner => recorder = new RecordingHandler(inner),
            credentialFactory: () =>
            {
                Interlocked.Increment(ref credentialLoads);
                throw new InvalidOperationException("Emulator mode must never load Google credentials.");
            });

        await storage.Client.UploadAsync(storage.Bucket, "emulated", "x"u8.ToArray(), cancellationToken: ct);
        await storage.DownloadBytesAsync("emulated");

        Assert.Equal(0, credentialLoads);
        Assert.All(recorder!.Requests, request => Assert.Equal("Bearer owner", request.Authorization));
    }

    [Fact(Timeout = Timeout)]
    public async Task AddStorageClient_NoEmulatorHost_UsesApplicationCredentialsLoadedOnce()
    {
        var ct = TestContext.Current.CancellationToken;
        var credentialLoads = 0;
        RecordingHandler? recorder = null;
        // The endpoint is the emulator (see StorageTestClient): production mode, but nothing leaves loopback.
        await using var storage = await StorageTestClient.CreateAsync(servers,
            wrapTransport: inner => recorder = new RecordingHandler(inner),
            credentialFactory: () =>
            {
                Interlocked.Increment(ref credentialLoads);
                return Task.FromResult<ITokenAccess>(new FixedToken("production-token"));
            },
            emulatorMode: false);

        await storage.Client.UploadAsync(storage.Bucket, "production-path", "x"u8.ToArray(), cancellationToken: ct);
        await storage.Client.GetMetadataAsync(storage.Bucket, "production-path", ct);
        await storage.DownloadBytesAsync("production-path");

        Assert.Equal(1, credentialLoads);
        Assert.Equal(3, recorder!.Requests.Count);
        Assert.All(recorder.Requests, request => Assert.Equal("Bearer production-token", request.Authorization));
        Assert.All(recorder.Requests, request => Assert.Contains("/storage/v1/b/", request.Uri.AbsolutePath, StringComparison.Ordinal));
    }

    [Fact(Timeout = Timeout)]
    public async Task AddGoogleCloud_StorageEmulatorHostSetting_RegistersClientInEmulatorMode()
    {
        var ct = TestContext.Current.CancellationToken;
        var host = await servers.StorageEmulatorHostAsync();
        var credentialLoads = 0;
        var configuration = new ConfigurationBuilder()
            .AddInMemoryCollection(new Dictionary<string, string?> { ["STORAGE_EMULATOR_HOST"] = host })
            .Build();
        await using var services = new ServiceCollection()
            .AddSingleton<IConfiguration>(configuration)
            .AddSingleton(new GoogleCredentialSource(() =>
            {
                Interlocked.Increment(ref credentialLoads);
                throw new InvalidOperationException("Emulator mode must never load Google credentials.");
            }))
            .AddGoogleCloud(configuration)
            .BuildServiceProvider();
        var client = services.GetRequiredService<StorageClient>();
        var bucket = StorageTestClient.NewBucket();

        await client.UploadAsync(bucket, "via-add-google-cloud", "x"u8.ToArray(), cancellationToken: ct);

        Assert.Same(client, services.GetRequiredService<StorageClient>());
        Assert.True(await client.ExistsAsync(bucket, "via-add-google-cloud", ct));
        Assert.Equal(0, credentialLoads);
    }

    [Fact(Timeout = Timeout)]
    public async Task AddGoogleCloud_NoEmulatorHost_SharesTheProcessCredential()
    {
        var ct = TestContext.Current.CancellationToken;
        var host = await servers.StorageEmulatorHostAsync();
        var credentialLoads = 0;
        var configuration = new ConfigurationBuilder()
            .AddInMemoryCollection(new Dictionary<string, string?> { ["GoogleCloud:Storage:Endpoint"] = $"http://{host}/" })
            .Build();
        await using var services = new ServiceCollection()
            .AddSingleton<IConfiguration>(configuration)
            .AddSingleton(new GoogleCredentialSource(() =>
            {
                Interlocked.Increment(ref credentialLoads);
                return Task.FromResult<ITokenAccess>(new FixedToken("shared-token"));
            }))
            .AddGoogleCloud(configuration)
            .BuildServiceProvider();
        var client = services.GetRequiredService<StorageClient>();

        Assert.False(await client.ExistsAsync(StorageTestClient.NewBucket(), "absent", ct));
        Assert.Equal(1, credentialLoads);
    }

    [Fact]
    public void AddGoogleCloud_BadStorageEmulatorHost_FailsValidation()
    {
        var configuration = new ConfigurationBuilder()
            .AddInMemoryCollection(new Dictionary<string, string?> { ["STORAGE_EMULATOR_HOST"] = "ftp://127.0.0.1:1" })
            .Build();
        using var services = new ServiceCollection().AddSingleton<IConfiguration>(configuration).AddGoogleCloud(configuration).BuildServiceProvider();

        var error = Assert.Throws<OptionsValidationException>(() => services.GetRequiredService<IOptions<GoogleCloudOptions>>().Value);

        Assert.Contains("STORAGE_EMULATOR_HOST", error.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("ChunkSize", "1000000")]
    [InlineData("ResumableThreshold", "20000000")]
    [InlineData("MaxAttempts", "0")]
    [InlineData("Endpoint", "ftp://example.invalid/")]
    public void AddStorageClient_InvalidOptions_FailValidation(string key, string value)
    {
        var configuration = new ConfigurationBuilder()
            .AddInMemoryCollection(new Dictionary<string, string?> { [$"{StorageClientOptions.SectionName}:{key}"] = value })
            .Build();
        using var services = new ServiceCollection().AddSingleton<IConfiguration>(configuration).AddStorageClient().BuildServiceProvider();

        var error = Assert.Throws<OptionsValidationException>(() => services.GetRequiredService<IOptions<StorageClientOptions>>().Value);

        Assert.Contains(key, error.Message, StringComparison.Ordinal);
    }

    private sealed class FixedToken(string token) : ITokenAccess
    {
        public Task<string> GetAccessTokenForRequestAsync(string? authUri = null, CancellationToken cancellationToken = default) => Task.FromResult(token);
    }
}
