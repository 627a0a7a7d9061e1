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
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact(Timeout = Timeout)]
    public async Task AddStorageClient_EmulatorHost_SendsNoCredentialsAndNeverLoadsThem()
    {
        var credentialLoads = 0;
        var recorder = new RequestLog();
        await using var storage = await StorageTestServices.CreateAsync(servers,
            wrapHandler: recorder.Wrap,
            credential: () =>
            {
                Interlocked.Increment(ref credentialLoads);
                throw new InvalidOperationException("Emulator mode must never load Google credentials.");
            });

        await storage.UploadAsync("emulated", "x"u8.ToArray());
        var read = await storage.Client.DownloadBytesAsync(storage.Bucket, "emulated", Ct);

        Assert.Equal("x"u8.ToArray(), read);
        Assert.Equal(0, credentialLoads);
        Assert.NotEmpty(recorder.Requests);
        Assert.All(recorder.Requests, request => Assert.Null(request.Authorization));
        Assert.All(recorder.Requests, request => Assert.Contains("/storage/v1/b/", request.Uri.AbsolutePath, StringComparison.Ordinal));
    }

    [Fact(Timeout = Timeout)]
    public async Task AddStorageClient_NoEmulatorHost_SendsTheCredentialsTokenOnEveryRequest()
    {
        var credentialLoads = 0;
        var recorder = new RequestLog();
        // The endpoint is the emulator (see StorageTestServices): production mode, but nothing leaves loopback.
        await using var storage = await StorageTestServices.CreateAsync(servers,
            wrapHandler: recorder.Wrap,
            credential: () =>
            {
                Interlocked.Increment(ref credentialLoads);
                return GoogleCredential.FromAccessToken("production-token");
            },
            emulatorMode: false);

        await storage.UploadAsync("production-path", "x"u8.ToArray());
        await storage.Client.GetObjectAsync(storage.Bucket, "production-path", cancellationToken: Ct);
        await storage.Client.DownloadBytesAsync(storage.Bucket, "production-path", Ct);

        Assert.Equal(1, credentialLoads);
        Assert.True(recorder.Requests.Count >= 3);
        Assert.All(recorder.Requests, request => Assert.Equal("Bearer production-token", request.Authorization));
    }

    [Fact]
    public void AddGoogleCloud_StorageEmulatorHost_TakesTheEmulatorsWorkarounds()
    {
        using var services = Services(new() { ["STORAGE_EMULATOR_HOST"] = "127.0.0.1:9199" });

        var options = services.GetRequiredService<IOptions<StorageOptions>>().Value;

        Assert.Equal(StorageOptions.EmulatorUploadChunkSize, options.UploadChunkSize);
        Assert.True(options.UploadChunkSize >= 50 * 1024 * 1024);
        Assert.Equal(Google.Cloud.Storage.V1.DownloadValidationMode.Never, options.Download(new(0, 9)).DownloadValidationMode);
        Assert.Equal(Google.Cloud.Storage.V1.DownloadValidationMode.Always, options.Download().DownloadValidationMode);
    }

    [Fact]
    public void AddGoogleCloud_Production_KeepsTheLibrarysDefaults()
    {
        using var services = Services(new() { ["GoogleCloud:ProjectId"] = "prod-project" });

        var options = services.GetRequiredService<IOptions<StorageOptions>>().Value;

        Assert.Null(options.UploadChunkSize);
        Assert.Equal(Google.Cloud.Storage.V1.DownloadValidationMode.Automatic, options.Download(new(0, 9)).DownloadValidationMode);
        Assert.Equal(Google.Cloud.Storage.V1.UploadValidationMode.RejectAndThrow, options.Upload().UploadValidationMode);
    }

    [Fact]
    public void AddGoogleCloud_BadStorageEmulatorHost_FailsValidation()
    {
        using var services = Services(new() { ["STORAGE_EMULATOR_HOST"] = "ftp://127.0.0.1:1" });

        var error = Assert.Throws<OptionsValidationException>(() => services.GetRequiredService<IOptions<GoogleCloudOptions>>().Value);

        Assert.Contains("STORAGE_EMULATOR_HOST", error.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("UploadChunkSize", "1000000")]
    [InlineData("UploadChunkSize", "0")]
    [InlineData("Endpoint", "ftp://example.invalid/")]
    [InlineData("Bucket", "")]
    public void AddStorageClient_InvalidOptions_FailValidationNamingTheSetting(string key, string value)
    {
        using var services = Services(new() { [$"{StorageOptions.SectionName}:{key}"] = value });

        var error = Assert.Throws<OptionsValidationException>(() => services.GetRequiredService<IOptions<StorageOptions>>().Value);

        Assert.Contains(key, error.Message, StringComparison.Ordinal);
    }

    private static ServiceProvider Services(Dictionary<string, string?> settings)
    {
        var configuration = new ConfigurationBuilder().AddInMemoryCollection(settings).Build();
        return new ServiceCollection().AddSingleton<IConfiguration>(configuration).AddGoogleCloud(configuration).BuildServiceProvider();
    }
}
