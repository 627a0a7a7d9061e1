using Microsoft.AspNetCore.Http.HttpResults;
using StoryDream.AppHost.Orchestration;

namespace StoryDream.AppHost.Dashboard;

/// <summary>The dashboard's page and the JSON it reads: resources, and each resource's console output.</summary>
internal static class DashboardEndpoints
{
    public static IServiceCollection AddDashboard(this IServiceCollection services)
    {
        services.ConfigureHttpJsonOptions(json => json.SerializerOptions.Converters.Add(new System.Text.Json.Serialization.JsonStringEnumConverter()));
        return services;
    }

    public static IEndpointRouteBuilder MapDashboard(this IEndpointRouteBuilder app)
    {
        app.MapGet("/", Page);
        app.MapGet("/api/resources", Resources);
        app.MapGet("/api/resources/{name}/logs", Logs);
        return app;
    }

    private static IResult Page()
    {
        var stream = typeof(DashboardEndpoints).Assembly.GetManifestResourceStream("StoryDream.AppHost.Dashboard.wwwroot.index.html");
        return stream is null ? TypedResults.NotFound() : TypedResults.Stream(stream, "text/html; charset=utf-8");
    }

    private static Ok<ResourceSnapshot[]> Resources(Orchestrator orchestrator) =>
        TypedResults.Ok(orchestrator.Supervisors.Select(s => s.Snapshot()).ToArray());

    private static Results<Ok<LogLine[]>, NotFound> Logs(string name, long? after, Orchestrator orchestrator)
    {
        var supervisor = orchestrator.Supervisors.FirstOrDefault(s => string.Equals(s.Resource.Name, name, StringComparison.Ordinal));
        return supervisor is null ? TypedResults.NotFound() : TypedResults.Ok(supervisor.Log.After(after ?? 0).ToArray());
    }
}
