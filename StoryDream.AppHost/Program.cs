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

builder.AddProject(ResourceNames.Gateway, "StoryDream.SessionGateway")
    .WithHttpEndpoint(builder.Options.GatewayPort)
    .WithReference(redis).WithReference(api)
    .WaitFor(redis).WaitFor(api)
    .WithPreviewTokenKey(auth)
    // The studio, built by eng/setup.sh, with its dev sign-in button.
    .WithEnvironment("Studio__Root", Path.Combine(builder.Options.RepositoryRoot, "web", "dist"))
    .WithEnvironment("Studio__DevSignIn", "true")
    // The studio (localhost) embeds previews from *.preview.localhost, another site: the preview cookie must be SameSite=None.
    .WithEnvironment("Gateway__PreviewCookieSameSite", "None");

return await builder.Build().RunAsync();
