using StoryDream.AppHost.Hosting;
using StoryDream.AppHost.Orchestration;
using StoryDream.ServiceDefaults;

namespace StoryDream.Tests.AppHost;

public sealed class AppModelTests : IDisposable
{
    private const string Otlp = "http://127.0.0.1:18888";
    private readonly DirectoryInfo _devDirectory = Directory.CreateTempSubdirectory("storydream-dev-");

    [Fact]
    public void Environment_ApiReferencingServers_GetsAspireFormats()
    {
        var (redis, firestore, storage, api, _) = Model();

        var environment = ResourceEnvironment.For(api, Otlp, closedPort: 9);

        Assert.Equal($"127.0.0.1:{redis.Port}", environment["ConnectionStrings__redis"]);
        Assert.Equal($"127.0.0.1:{firestore.Port}", environment["FIRESTORE_EMULATOR_HOST"]);
        Assert.Equal($"127.0.0.1:{storage.Port}", environment["STORAGE_EMULATOR_HOST"]);
        Assert.Equal("storydream-dev", environment["GoogleCloud__ProjectId"]);
        Assert.Equal($"http://127.0.0.1:{api.Port}", environment["ASPNETCORE_URLS"]);
        Assert.Equal(ResourceNames.Api, environment["OTEL_SERVICE_NAME"]);
        Assert.Equal(Otlp, environment["OTEL_EXPORTER_OTLP_ENDPOINT"]);
        Assert.Equal("http/protobuf", environment["OTEL_EXPORTER_OTLP_PROTOCOL"]);
        Assert.Equal("127.0.0.1:9", environment["GCE_METADATA_HOST"]);
    }

    [Fact]
    public void Environment_ApiWithDevAuth_GetsTheAuthContract()
    {
        var (_, _, _, api, gateway) = Model();

        var apiEnvironment = ResourceEnvironment.For(api, Otlp, closedPort: 9);
        var gatewayEnvironment = ResourceEnvironment.For(gateway, Otlp, closedPort: 9);

        Assert.Equal("storydream-dev", apiEnvironment["Auth__Issuer"]);
        Assert.Equal("storydream-api", apiEnvironment["Auth__Audience"]);
        Assert.Equal(32, Convert.FromBase64String(apiEnvironment["Auth__SigningKey"]).Length);
        Assert.Equal(apiEnvironment["Sessions__PreviewTokenKey"], gatewayEnvironment["Sessions__PreviewTokenKey"]);
        Assert.False(gatewayEnvironment.ContainsKey("Auth__SigningKey"));
        Assert.True(File.Exists(Path.Combine(_devDirectory.FullName, "auth-signing-key")));
    }

    [Fact]
    public void Environment_GatewayReferencingApi_GetsItsServiceAddress()
    {
        var (redis, _, _, api, gateway) = Model();

        var environment = ResourceEnvironment.For(gateway, Otlp, closedPort: 9);

        Assert.Equal($"http://127.0.0.1:{api.Port}", environment["services__api__http__0"]);
        Assert.Equal($"127.0.0.1:{redis.Port}", environment["ConnectionStrings__redis"]);
        Assert.Equal($"http://127.0.0.1:{gateway.Port}", environment["ASPNETCORE_URLS"]);
        Assert.False(environment.ContainsKey("FIRESTORE_EMULATOR_HOST"));
    }

    [Fact]
    public void Build_FixedGatewayPort_KeepsItAndGivesOthersDistinctFreePorts()
    {
        var (redis, firestore, storage, api, gateway) = Model(gatewayPort: 47123);

        Assert.Equal(47123, gateway.Port);
        int[] ports = [redis.Port, firestore.Port, storage.Port, api.Port, gateway.Port];
        Assert.Equal(ports.Length, ports.Distinct().Count());
        Assert.All(ports, port => Assert.InRange(port, 1, 65535));
    }

    [Fact]
    public void Build_WaitForCycle_IsRefused()
    {
        var builder = new DistributedApplicationBuilder(Options());
        var a = builder.AddExecutable("a", "true", "/");
        var b = builder.AddExecutable("b", "true", "/").WaitFor(a);
        a.WaitFor(b);

        var error = Assert.Throws<InvalidOperationException>(builder.Build);
        Assert.Contains("cycle", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void AddResource_SameNameTwice_IsRefused()
    {
        var builder = new DistributedApplicationBuilder(Options());
        builder.AddRedis(ResourceNames.Redis);

        Assert.Throws<InvalidOperationException>(() => builder.AddRedis(ResourceNames.Redis));
    }

    [Fact]
    public async Task Prerequisites_ProjectNotBuiltAndNoSetup_SaysExactlyWhatIsMissing()
    {
        var builder = new DistributedApplicationBuilder(Options() with { RunSetup = false });
        builder.AddProject("ghost", "StoryDream.DoesNotExist");
        using var output = new StringWriter();

        var ready = await Prerequisites.EnsureAsync(builder.Options, builder.Resources, output, TestContext.Current.CancellationToken);

        Assert.False(ready);
        Assert.Contains("StoryDream.DoesNotExist is not built", output.ToString(), StringComparison.Ordinal);
        Assert.Contains("dotnet build StoryDream.AppHost", output.ToString(), StringComparison.Ordinal);
    }

    [Fact]
    public void Prerequisites_ThisMachine_HasWhatTheRealModelNeeds()
    {
        var builder = new DistributedApplicationBuilder(Options());
        builder.AddRedis(ResourceNames.Redis);
        builder.AddFirestoreEmulator(ResourceNames.Firestore);
        builder.AddStorageEmulator(ResourceNames.Storage);
        builder.AddProject(ResourceNames.Api, "StoryDream.Api");

        Assert.Empty(Prerequisites.Missing(builder.Resources));
    }

    private (Resource Redis, Resource Firestore, Resource Storage, ProjectResource Api, ProjectResource Gateway) Model(int gatewayPort = 0)
    {
        var builder = new DistributedApplicationBuilder(Options());
        var auth = builder.AddDevAuth();
        var redis = builder.AddRedis(ResourceNames.Redis);
        var firestore = builder.AddFirestoreEmulator(ResourceNames.Firestore);
        var storage = builder.AddStorageEmulator(ResourceNames.Storage);
        var api = builder.AddProject(ResourceNames.Api, "StoryDream.Api")
            .WithReference(redis).WithReference(firestore).WithReference(storage)
            .WaitFor(redis).WaitFor(firestore).WaitFor(storage)
            .WithDevAuth(auth);
        var gateway = builder.AddProject(ResourceNames.Gateway, "StoryDream.SessionGateway")
            .WithReference(redis).WithReference(api).WaitFor(api)
            .WithPreviewTokenKey(auth);
        if (gatewayPort != 0) { gateway.WithHttpEndpoint(gatewayPort); }
        builder.Build();
        return (redis.Resource, firestore.Resource, storage.Resource, api.Resource, gateway.Resource);
    }

    private AppHostOptions Options() => AppHostOptions.Parse([], _ => null) with { DevDirectory = _devDirectory.FullName };

    public void Dispose() => _devDirectory.Delete(recursive: true);
}
