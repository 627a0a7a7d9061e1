using StoryDream.AppHost.Hosting;
using StoryDream.ServiceDefaults;

DistributedApplicationBuilder builder;
try
{
    builder = DistributedApplicationBuilder.CreateBuilder(args);
}
catch (ArgumentException e)
{
    await Console.Error.WriteLineAsync(e.Message);
    return DistributedApplication.UsageExitCode;
}

var auth = builder.AddDevAuth();
var redis = builder.AddRedis(ResourceNames.Redis);
var firestore = builder.AddFirestoreEmulator(ResourceNames.Firestore);
var storage = builder.AddStorageEmulator(ResourceNames.Storage);

var api = builder.AddProject(ResourceNames.Api, "StoryDream.Api")
    .WithReference(redis).WithReference(firestore).WithReference(storage)
    .WaitFor(redis).WaitFor(firestore).WaitFor(storage)
    .WithDevAuth(auth)
    // Preview links the API hands out point at the gateway, by host: {sessionId}.preview.localhost:PORT.
    .WithEnvironment("Sessions__PublicPreviewUrl", $"http://{{sessionId}}.preview.localhost:{builder.Options.GatewayPort}/");

builder.AddProject(ResourceNames.SyncWorker, "StoryDream.SyncWorker")
    .WithReference(redis).WithReference(firestore).WithReference(storage)
    .WaitFor(redis).WaitFor(firestore).WaitFor(storage);

var gateway = builder.AddProject(ResourceNames.Gateway, "StoryDream.SessionGateway")
    .WithHttpEndpoint(builder.Options.GatewayPort)
    .WithReference(redis).WithReference(api)
    .WaitFor(redis).WaitFor(api)
    .WithPreviewTokenKey(auth);

// The model key stays with the gateway's model proxy (DESIGN section 8); pods get its URL and a per-session token.
if (Environment.GetEnvironmentVariable("ANTHROPIC_API_KEY") is { Length: > 0 } modelKey)
{
    var modelProxyPort = builder.Options.GatewayPort + 1;
    gateway.WithEnvironment("ModelProxy__Port", modelProxyPort.ToString(System.Globalization.CultureInfo.InvariantCulture))
        .WithEnvironment("ModelProxy__ApiKey", modelKey);
    api.WithEnvironment("Sessions__ModelProxyUrl", $"http://127.0.0.1:{modelProxyPort}");
}

return await builder.Build().RunAsync();
