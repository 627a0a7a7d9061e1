using Aspire.Hosting.ApplicationModel;
using Aspire.Hosting.Testing;
using StoryDream.AppHost.LocalServers;
using StoryDream.ServiceDefaults;

namespace StoryDream.Tests.AppHost;

/// <summary>The Aspire app model of StoryDream.AppHost's Program, built (not started) as a person's run builds it.</summary>
public sealed class AppModelTests : IDisposable
{
    private const int GatewayPort = 47123;
    private readonly DirectoryInfo _devDirectory = Directory.CreateTempSubdirectory("storydream-dev-");

    [Fact]
    public async Task Model_Run_HasTheSixResourcesEachWaitingForWhatItUses()
    {
        var builder = await BuilderAsync();

        Assert.All(ResourceNames.All, name => Assert.Contains(builder.Resources, r => r.Name == name));
        Assert.IsType<RedisServerResource>(Resource(builder, ResourceNames.Redis));
        Assert.Equal(
            [ResourceNames.Firestore, ResourceNames.Redis, ResourceNames.Storage],
            WaitsFor(builder, ResourceNames.Api));
        Assert.Equal(
            [ResourceNames.Firestore, ResourceNames.Redis, ResourceNames.Storage],
            WaitsFor(builder, ResourceNames.SyncWorker));
        Assert.Equal([ResourceNames.Api, ResourceNames.Redis], WaitsFor(builder, ResourceNames.Gateway));
        foreach (var name in ResourceNames.All)
        {
            Assert.True(Resource(builder, name).Annotations.OfType<HealthCheckAnnotation>().Any(), $"{name} has no health check.");
        }
    }

    [Fact]
    public async Task Gateway_Run_ListensItselfOnTheFixedPort()
    {
        var builder = await BuilderAsync();

        var endpoint = Assert.Single(Resource(builder, ResourceNames.Gateway).Annotations.OfType<EndpointAnnotation>());
        Assert.Equal(GatewayPort, endpoint.Port);
        Assert.False(endpoint.IsProxied);
    }

    [Fact]
    public async Task Environment_Api_GetsRedisTheEmulatorsAndSecretDevKeys()
    {
        var builder = await BuilderAsync();

        var environment = await RawEnvironmentAsync(builder, ResourceNames.Api);

        Assert.Equal(ResourceNames.Redis, Assert.IsType<ConnectionStringReference>(environment["ConnectionStrings__redis"]).Resource.Name);
        Assert.Equal(ResourceNames.Firestore, Assert.IsType<EndpointReferenceExpression>(environment["FIRESTORE_EMULATOR_HOST"]).Endpoint.Resource.Name);
        Assert.Equal(ResourceNames.Storage, Assert.IsType<EndpointReferenceExpression>(environment["STORAGE_EMULATOR_HOST"]).Endpoint.Resource.Name);
        Assert.Equal(LocalServerExtensions.DevProjectId, environment["GoogleCloud__ProjectId"]);
        Assert.Equal("storydream-dev", environment["Auth__Issuer"]);
        Assert.True(Assert.IsType<ParameterResource>(environment["Auth__SigningKey"]).Secret);
        Assert.True(Assert.IsType<ParameterResource>(environment["Sessions__PreviewTokenKey"]).Secret);
        Assert.Equal($"http://{{sessionId}}.preview.localhost:{GatewayPort}/", environment["Sessions__PublicPreviewUrl"]);
        Assert.Equal(Path.Combine(_devDirectory.FullName, "sessions"), environment["Sessions__Local__StateDirectory"]);
    }

    [Fact]
    public async Task Environment_Gateway_ResolvesTheApiAndGetsNoSigningKey()
    {
        var builder = await BuilderAsync();

        var environment = await RawEnvironmentAsync(builder, ResourceNames.Gateway);

        Assert.True(environment.ContainsKey("services__api__http__0"), string.Join(", ", environment.Keys));
        Assert.IsType<ConnectionStringReference>(environment["ConnectionStrings__redis"]);
        Assert.True(Assert.IsType<ParameterResource>(environment["Sessions__PreviewTokenKey"]).Secret);
        Assert.False(environment.ContainsKey("Auth__SigningKey"));
        Assert.False(environment.ContainsKey("FIRESTORE_EMULATOR_HOST"));
    }

    [Fact]
    public async Task DevKeys_TwoRuns_AreMadeOnceInTheDevFolderAndReused()
    {
        var first = await BuilderAsync();
        var second = await BuilderAsync();

        var key = await Parameter(first, "auth-signing-key").GetValueAsync(TestContext.Current.CancellationToken);
        var again = await Parameter(second, "auth-signing-key").GetValueAsync(TestContext.Current.CancellationToken);
        var preview = await Parameter(second, "preview-token-key").GetValueAsync(TestContext.Current.CancellationToken);

        Assert.Equal(key, again);
        Assert.NotEqual(key, preview);
        Assert.Equal(32, Convert.FromBase64String(key!).Length);
        Assert.Equal(key, File.ReadAllText(Path.Combine(_devDirectory.FullName, "auth-signing-key")).Trim());
    }

    [Fact]
    public async Task Redis_Run_BindsLoopbackWithoutPersistence()
    {
        var builder = await BuilderAsync();
        var redis = Resource(builder, ResourceNames.Redis);

        var args = new List<object>();
        foreach (var callback in redis.Annotations.OfType<CommandLineArgsCallbackAnnotation>())
        {
            await callback.Callback(new CommandLineArgsCallbackContext(args, redis, TestContext.Current.CancellationToken));
        }
        var text = args.OfType<string>().ToList();

        Assert.Equal("127.0.0.1", text[text.IndexOf("--bind") + 1]);
        Assert.Equal("", text[text.IndexOf("--save") + 1]);
        Assert.Equal("no", text[text.IndexOf("--appendonly") + 1]);
    }

    private async Task<IDistributedApplicationTestingBuilder> BuilderAsync(params string[] extra) =>
        await DistributedApplicationTestingBuilder.CreateAsync<Projects.StoryDream_AppHost>(
            [$"STORYDREAM_DEV_DIRECTORY={_devDirectory.FullName}", $"STORYDREAM_GATEWAY_PORT={GatewayPort}", .. extra],
            TestContext.Current.CancellationToken);

    internal static IResource Resource(IDistributedApplicationTestingBuilder builder, string name) =>
        builder.Resources.Single(r => r.Name == name);

    private static ParameterResource Parameter(IDistributedApplicationTestingBuilder builder, string name) =>
        builder.Resources.OfType<ParameterResource>().Single(r => r.Name == name);

    private static string[] WaitsFor(IDistributedApplicationTestingBuilder builder, string name) =>
        [.. Resource(builder, name).Annotations.OfType<WaitAnnotation>().Select(w => w.Resource.Name).Order()];

    private static async Task<Dictionary<string, object>> RawEnvironmentAsync(IDistributedApplicationTestingBuilder builder, string name)
    {
        var resource = Resource(builder, name);
        var environment = new Dictionary<string, object>();
        var context = new EnvironmentCallbackContext(builder.ExecutionContext, resource, environment, TestContext.Current.CancellationToken);
        foreach (var callback in resource.Annotations.OfType<EnvironmentCallbackAnnotation>()) { await callback.Callback(context); }
        return environment;
    }

    public void Dispose() => _devDirectory.Delete(recursive: true);
}
