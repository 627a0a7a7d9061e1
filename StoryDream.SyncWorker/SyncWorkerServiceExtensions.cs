using Microsoft.Extensions.Options;
using StoryDream.GoogleCloud;
using StoryDream.Snapshots;
using StoryDream.ServiceDefaults;
using StoryDream.Sessions;
using StoryDream.SyncWorker.Jobs;
using StoryDream.SyncWorker.Pods;
using StoryDream.SyncWorker.Sync;

namespace StoryDream.SyncWorker;

public static class SyncWorkerServiceExtensions
{
    /// <summary>
    /// The worker: options (validated on start), the Redis client (Aspire's: health check and tracing), the snapshot store, the pods' file API client, the job
    /// consumer and its health check. Redis comes from <c>ConnectionStrings:redis</c>.
    /// </summary>
    public static IHostApplicationBuilder AddSyncWorkerServices(this IHostApplicationBuilder builder)
    {
        ArgumentNullException.ThrowIfNull(builder);
        var services = builder.Services;

        services.AddOptions<SyncWorkerOptions>()
            .BindConfiguration(SyncWorkerOptions.SectionName)
            .ValidateDataAnnotations()
            .ValidateOnStart();
        services.AddSingleton(TimeProvider.System);

        builder.AddRedisClient(ResourceNames.Redis, configureOptions: options =>
        {
            options.AbortOnConnectFail = false;
            options.ClientName = "storydream-syncworker";
        });
        services.AddSingleton(provider => BlockingReader.ForSyncJobs(RedisConfiguration(provider)));

        services.AddGoogleCloud(builder.Configuration);
        services.AddSnapshotStore();

        // Its own pipeline, not one from the HTTP client factory: the service defaults' resilience handler would cut
        // whole-tree transfers at its 10 s attempt limit and could not resend a streamed tar; a failed job is retried whole.
        services.AddSingleton(provider => new PodFilesClient(
            new HttpClient(new SocketsHttpHandler
            {
                // A pod is reached at the address its session names, never redirected or proxied elsewhere.
                AllowAutoRedirect = false,
                UseProxy = false,
                UseCookies = false,
                PooledConnectionIdleTimeout = TimeSpan.FromMinutes(1),
            })
            {
                Timeout = provider.GetRequiredService<IOptions<SyncWorkerOptions>>().Value.PodRequestTimeout,
            },
            provider.GetRequiredService<IOptions<SyncWorkerOptions>>(),
            provider.GetRequiredService<ILogger<PodFilesClient>>()));

        services.AddSingleton<SyncMetrics>();
        services.AddSingleton<SyncWorkerState>();
        services.AddSingleton<SyncJobQueue>();
        services.AddSingleton<ProjectLock>();
        services.AddSingleton<SnapshotSync>();
        services.AddSingleton<Hydration>();
        services.AddSingleton<SyncJobExecutor>();
        services.AddSingleton<ProjectRunner>();
        services.AddHostedService<SyncJobConsumer>();
        services.AddHealthChecks().AddCheck<SyncWorkerHealthCheck>("sync-worker");
        return builder;
    }

    private static string RedisConfiguration(IServiceProvider provider)
    {
        var configuration = provider.GetRequiredService<IConfiguration>().GetConnectionString(ResourceNames.Redis);
        return string.IsNullOrWhiteSpace(configuration)
            ? throw new InvalidOperationException($"ConnectionStrings:{ResourceNames.Redis} is not set: the sync worker needs Redis (for example 127.0.0.1:6379).")
            : configuration;
    }
}
