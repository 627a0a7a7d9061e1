using System.Reflection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.DependencyInjection;
using StoryDream.AppHost;
using StoryDream.AppHost.DevAuth;
using StoryDream.AppHost.LocalServers;
using StoryDream.AppHost.Publishing;
using StoryDream.ServiceDefaults;

var builder = DistributedApplication.CreateBuilder(args);
var settings = AppHostSettings.From(builder.Configuration,
    typeof(AppHostSettings).Assembly.GetCustomAttributes<AssemblyMetadataAttribute>().Single(a => a.Key == "RepositoryRoot").Value!);

var auth = builder.AddDevAuth(settings.DevDirectory);
var redis = builder.AddRedisServer(ResourceNames.Redis, settings.RepositoryRoot);
var firestore = builder.AddFirestoreEmulator(ResourceNames.Firestore, settings.RepositoryRoot);
var storage = builder.AddStorageEmulator(ResourceNames.Storage, settings.RepositoryRoot);

var api = builder.AddProject<Projects.StoryDream_Api>(ResourceNames.Api)
    .WithReference(redis).WithReference(firestore).WithReference(storage)
    .WaitFor(redis).WaitFor(firestore).WaitFor(storage)
    .WithDevAuth(auth)
    .WithHttpHealthCheck(ServiceDefaultsExtensions.HealthEndpointPath)
    .WithUrlForEndpoint("http", url => url.DisplayText = "API (http)");
api.WithUrl(ReferenceExpression.Create($"{api.GetEndpoint("http")}/scalar"), "Scalar (API reference)");

builder.AddProject<Projects.StoryDream_SyncWorker>(ResourceNames.SyncWorker)
    .WithReference(redis).WithReference(firestore).WithReference(storage)
    .WaitFor(redis).WaitFor(firestore).WaitFor(storage)
    .WithHttpHealthCheck(ServiceDefaultsExtensions.HealthEndpointPath);

// The browser's stable address: a fixed port Kestrel listens on itself (not DCP's proxy), so preview and chat
// WebSockets reach the gateway directly.
var gateway = builder.AddProject<Projects.StoryDream_SessionGateway>(ResourceNames.Gateway)
    .WithEndpoint("http", endpoint =>
    {
        endpoint.Port = settings.GatewayPort;
        endpoint.IsProxied = false;
    })
    .WithReference(redis).WithReference(api)
    .WaitFor(redis).WaitFor(api)
    .WithPreviewTokenKey(auth)
    .WithHttpHealthCheck(ServiceDefaultsExtensions.HealthEndpointPath);

if (builder.ExecutionContext.IsRunMode)
{
    var previewUrl = $"http://{{sessionId}}.preview.localhost:{settings.GatewayPort}/";
    api.WithEnvironment("Sessions__PublicPreviewUrl", previewUrl)
        // This run's session pods live under its dev folder, so the app host can find and stop them when it stops.
        .WithEnvironment("Sessions__Local__StateDirectory", settings.SessionsDirectory);
    // Local only (never published): the studio as eng/setup.sh builds it, with its dev sign-in button; the studio
    // (localhost) embeds previews from *.preview.localhost, another site, so the preview cookie must be SameSite=None.
    gateway.WithEnvironment("Studio__Root", Path.GetFullPath(Path.Combine(builder.AppHostDirectory, "..", "web", "dist")))
        .WithEnvironment("Studio__DevSignIn", "true")
        .WithEnvironment("Gateway__PreviewCookieSameSite", "None");
    // The model key stays with the gateway's model proxy (DESIGN section 8); pods get its URL and a per-session token.
    if (Environment.GetEnvironmentVariable("ANTHROPIC_API_KEY") is { Length: > 0 } modelKey)
    {
        var modelProxyPort = settings.GatewayPort + 1;
        gateway.WithEnvironment("ModelProxy__Port", modelProxyPort.ToString(System.Globalization.CultureInfo.InvariantCulture))
            .WithEnvironment("ModelProxy__ApiKey", modelKey);
        var modelProxyUrl = "http://127.0.0.1:" + modelProxyPort.ToString(System.Globalization.CultureInfo.InvariantCulture);
        api.WithEnvironment("Sessions__ModelProxyUrl", modelProxyUrl);
    }
    foreach (var project in builder.Resources.OfType<ProjectResource>())
    {
        builder.CreateResourceBuilder(project).WithLocalEnvironment(settings);
    }
    builder.Services.AddSingleton(settings);
    builder.Services.AddSingleton(auth.Credentials);
    builder.Services.AddHostedService<RunReport>();
    builder.Services.AddHostedService<SessionPodReaper>();
}

builder.AddKubernetesPublishing();

builder.Build().Run();
