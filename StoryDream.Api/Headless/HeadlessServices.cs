using StackExchange.Redis;
using StoryDream.ServiceDefaults;
using StoryDream.Sessions;

namespace StoryDream.Api.Headless;

internal static class HeadlessServices
{
    /// <summary>Headless jobs: the store, the queue and the runner. Needs <c>AddSessionServices</c>, <c>AddChatServices</c> and webhooks.</summary>
    public static IHostApplicationBuilder AddHeadlessServices(this IHostApplicationBuilder builder)
    {
        builder.Services.AddOptions<HeadlessOptions>()
            .BindConfiguration(HeadlessOptions.SectionName)
            .ValidateDataAnnotations()
            .ValidateOnStart();
        builder.Services.AddSingleton<HeadlessJobStore>();
        builder.Services.AddSingleton<Idempotency>();
        builder.Services.AddSingleton(services => new HeadlessQueue(
            services.GetRequiredService<IConnectionMultiplexer>(),
            new BlockingReader(RedisConfiguration(services), HeadlessQueue.Stream, HeadlessQueue.Group, "storydream-api-headless-reader")));
        builder.Services.AddHostedService<HeadlessRunner>();
        return builder;
    }

    public static WebApplication MapHeadlessApi(this WebApplication app)
    {
        app.MapRequirementsApi();
        app.MapJobsApi();
        return app;
    }

    private static string RedisConfiguration(IServiceProvider services) =>
        services.GetRequiredService<IConfiguration>().GetConnectionString(ResourceNames.Redis) is { Length: > 0 } configuration
            ? configuration
            : throw new InvalidOperationException($"ConnectionStrings:{ResourceNames.Redis} is not set: headless jobs need Redis.");
}
