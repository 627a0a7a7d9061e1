using k8s;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Options;
using StoryDream.Api.Projects;
using StoryDream.ServiceDefaults;
using StoryDream.Sessions;

namespace StoryDream.Api.Sessions;

internal static class SessionServices
{
    /// <summary>Sessions: options, the Redis client (Aspire's: health check and tracing), the runtime, start and stop, and the maintenance and reconcile workers.</summary>
    public static IHostApplicationBuilder AddSessionServices(this IHostApplicationBuilder builder)
    {
        builder.Services.AddOptions<SessionOptions>()
            .BindConfiguration(SessionOptions.SectionName)
            .ValidateDataAnnotations()
            .Validate(o => TryPreviewTokens(o.PreviewTokenKey), "Sessions:PreviewTokenKey must be base64 of at least 32 random bytes (shared with the gateway).")
            .ValidateOnStart();

        builder.Services.TryAddSingleton(TimeProvider.System);
        builder.AddRedisClient(ResourceNames.Redis);
        builder.Services.AddSingleton(services => PreviewTokens.FromBase64Key(
            services.GetRequiredService<IOptions<SessionOptions>>().Value.PreviewTokenKey, services.GetRequiredService<TimeProvider>()));
        builder.Services.AddSingleton<ISessionRuntime>(services =>
            services.GetRequiredService<IOptions<SessionOptions>>().Value.Runtime switch
            {
                "local" => ActivatorUtilities.CreateInstance<LocalSessionRuntime>(services),
                "kubernetes" => ActivatorUtilities.CreateInstance<KubernetesSessionRuntime>(services),
                var other => throw new InvalidOperationException($"Sessions:Runtime '{other}' is not a session runtime; use 'local' or 'kubernetes'."),
            });
        // Built only when the kubernetes runtime asks for it, so the local runtime never looks for a cluster.
        builder.Services.TryAddSingleton<IKubernetes>(services =>
            new k8s.Kubernetes(KubernetesSessionRuntime.ClientConfiguration(services.GetRequiredService<IOptions<SessionOptions>>().Value.Kubernetes)));
        builder.Services.AddHttpClient(PodGate.HttpClientName, http => http.Timeout = TimeSpan.FromSeconds(10));
        builder.Services.AddSingleton<PodGate>();
        builder.Services.AddSingleton<SyncJobs>();
        builder.Services.AddSingleton<SessionManager>();
        builder.Services.AddSingleton<IProjectSessions, ProjectSessions>();
        builder.Services.AddSingleton<SessionStops>();
        builder.Services.AddHostedService(services => services.GetRequiredService<SessionStops>());
        builder.Services.AddHostedService<SessionReconciler>();
        builder.Services.AddSingleton<SessionMaintenance>();
        builder.Services.AddHostedService(services => services.GetRequiredService<SessionMaintenance>());
        return builder;
    }

    private static bool TryPreviewTokens(string key)
    {
        try
        {
            PreviewTokens.FromBase64Key(key, TimeProvider.System);
            return true;
        }
        catch (Exception e) when (e is InvalidOperationException or ArgumentException)
        {
            return false;
        }
    }
}
