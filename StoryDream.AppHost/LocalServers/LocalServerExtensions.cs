using System.Net.Sockets;
using System.Text;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Diagnostics.HealthChecks;

namespace StoryDream.AppHost.LocalServers;

/// <summary>Redis and the Google Cloud emulators as local executable resources, with health checks and reset commands.</summary>
internal static class LocalServerExtensions
{
    /// <summary>The project id the emulators serve; any id works against them.</summary>
    public const string DevProjectId = "storydream-dev";

    /// <summary>The document <c>eng/servers/firestore.sh</c> writes with its warm-up commit, before it says READY.</summary>
    public const string FirestoreWarmUpDocument = "/v1/projects/storydream-warmup/databases/(default)/documents/warmup/ready";

    public const string FirestoreHostVariable = "FIRESTORE_EMULATOR_HOST";
    public const string StorageHostVariable = "STORAGE_EMULATOR_HOST";
    private const string ResetCommand = "reset-emulator";

    public static IResourceBuilder<RedisServerResource> AddRedisServer(this IDistributedApplicationBuilder builder, string name, string repositoryRoot)
    {
        var redis = new RedisServerResource(name, repositoryRoot);
        var healthCheck = $"{name}-ping";
        // A test process holds many subscribers that fall behind when the machine is busy; Redis's default pub/sub
        // output limit (8 MB within 60 s) would drop them, so this local server has none.
        builder.Services.AddHealthChecks().AddCheck(healthCheck, new RedisPingCheck(redis));
        return builder.AddResource(redis)
            .WithEndpoint(name: RedisServerResource.EndpointName, scheme: "tcp", isProxied: false)
            .WithArgs(context =>
            {
                context.Args.Add("--bind");
                context.Args.Add("127.0.0.1");
                context.Args.Add("--port");
                context.Args.Add(redis.Endpoint.Property(EndpointProperty.TargetPort));
                context.Args.Add("--save");
                context.Args.Add("");
                context.Args.Add("--appendonly");
                context.Args.Add("no");
                context.Args.Add("--protected-mode");
                context.Args.Add("yes");
                context.Args.Add("--client-output-buffer-limit");
                context.Args.Add("pubsub 0 0 0");
                context.Args.Add("--loglevel");
                context.Args.Add("notice");
                context.Args.Add("--dir");
                context.Args.Add(Path.GetTempPath());
            })
            .WithHealthCheck(healthCheck)
            .WithIconName("Database");
    }

    /// <summary>
    /// Google's Firestore emulator from the machine image (<c>eng/servers/firestore.sh</c>); "reset" deletes every
    /// document. Healthy once the document the script's warm-up commit writes can be read, so the services start after
    /// the emulator's slow first commit, not into it.
    /// </summary>
    public static IResourceBuilder<EmulatorResource> AddFirestoreEmulator(this IDistributedApplicationBuilder builder, string name, string repositoryRoot) =>
        builder.AddEmulator(new EmulatorResource(name, "eng/servers/firestore.sh", repositoryRoot, FirestoreHostVariable),
            healthPath: FirestoreWarmUpDocument,
            reset: (http, endpoint, cancellationToken) => http.DeleteAsync(
                new Uri($"{endpoint}/emulator/v1/projects/{DevProjectId}/databases/(default)/documents"), cancellationToken));

    /// <summary>firebase-tools' Storage emulator (<c>eng/servers/storage.sh</c>); "reset" deletes every object.</summary>
    public static IResourceBuilder<EmulatorResource> AddStorageEmulator(this IDistributedApplicationBuilder builder, string name, string repositoryRoot) =>
        builder.AddEmulator(new EmulatorResource(name, "eng/servers/storage.sh", repositoryRoot, StorageHostVariable), healthPath: "/storage/v1/b",
            reset: (http, endpoint, cancellationToken) => http.PostAsync(new Uri($"{endpoint}/internal/reset"), content: null, cancellationToken));

    /// <summary>
    /// Gives the service the emulator's host variable and project id, locally. In a cluster the real Google service is
    /// reached through Application Default Credentials, so nothing is injected when publishing.
    /// </summary>
    public static IResourceBuilder<T> WithReference<T>(this IResourceBuilder<T> builder, IResourceBuilder<EmulatorResource> emulator)
        where T : IResourceWithEnvironment
    {
        var resource = emulator.Resource;
        builder.WithReferenceRelationship(resource);
        if (builder.ApplicationBuilder.ExecutionContext.IsRunMode)
        {
            builder.WithEnvironment(context =>
            {
                context.EnvironmentVariables[resource.HostVariable] = resource.Endpoint.Property(EndpointProperty.HostAndPort);
                context.EnvironmentVariables["GoogleCloud__ProjectId"] = DevProjectId;
            });
        }
        return builder;
    }

    private static IResourceBuilder<EmulatorResource> AddEmulator(this IDistributedApplicationBuilder builder, EmulatorResource emulator, string healthPath,
        Func<HttpClient, string, CancellationToken, Task<HttpResponseMessage>> reset) =>
        builder.AddResource(emulator)
            .WithHttpEndpoint(name: EmulatorResource.EndpointName, isProxied: false)
            .WithArgs(context =>
            {
                context.Args.Add(emulator.Launcher);
                context.Args.Add(emulator.Endpoint.Property(EndpointProperty.TargetPort));
            })
            .WithHttpHealthCheck(healthPath, endpointName: EmulatorResource.EndpointName)
            .WithIconName("CloudDatabase")
            .WithCommand(ResetCommand, "Reset (delete all data)", async context =>
            {
                using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(30) };
                using var response = await reset(http, emulator.Endpoint.Url, context.CancellationToken);
                return response.IsSuccessStatusCode
                    ? CommandResults.Success()
                    : CommandResults.Failure($"The emulator answered {(int)response.StatusCode} {response.ReasonPhrase}.");
            }, new CommandOptions
            {
                Description = "Deletes every document or object the emulator holds, without restarting it.",
                ConfirmationMessage = $"Delete all data in {emulator.Name}?",
                IconName = "Delete",
                UpdateState = context => context.ResourceSnapshot.HealthStatus == HealthStatus.Healthy ? ResourceCommandState.Enabled : ResourceCommandState.Disabled,
            });

    /// <summary>Healthy once the server answers PING, over a plain socket (no client library in the app host).</summary>
    private sealed class RedisPingCheck(RedisServerResource redis) : IHealthCheck
    {
        public async Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default)
        {
            try
            {
                using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
                timeout.CancelAfter(TimeSpan.FromSeconds(2));
                using var client = new TcpClient();
                await client.ConnectAsync(redis.Endpoint.Host, redis.Endpoint.Port, timeout.Token);
                var stream = client.GetStream();
                await stream.WriteAsync("PING\r\n"u8.ToArray(), timeout.Token);
                var buffer = new byte[64];
                var read = await stream.ReadAsync(buffer, timeout.Token);
                var reply = Encoding.ASCII.GetString(buffer, 0, read);
                return reply.StartsWith("+PONG", StringComparison.Ordinal)
                    ? HealthCheckResult.Healthy()
                    : HealthCheckResult.Unhealthy($"PING answered '{reply.Trim()}'.");
            }
            catch (Exception e) when (e is SocketException or IOException or OperationCanceledException or InvalidOperationException)
            {
                return HealthCheckResult.Unhealthy($"Redis does not answer PING: {e.Message}");
            }
        }
    }
}
