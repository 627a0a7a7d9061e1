using Aspire.Hosting.Pipelines;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace StoryDream.AppHost.Publishing;

internal static class PublishingExtensions
{
    public const string StepName = "kubernetes-manifests";

    /// <summary>
    /// Aspire.Hosting.Kubernetes is not available here, so the kustomize base is written by our own step on Aspire's
    /// publish pipeline: <c>--operation publish --step publish --output-path DIR</c> (or <c>aspire publish -o DIR</c>).
    /// </summary>
    public static IDistributedApplicationBuilder AddKubernetesPublishing(this IDistributedApplicationBuilder builder)
    {
        builder.Pipeline.AddStep(StepName, async context =>
        {
            var output = context.Services.GetRequiredService<IPipelineOutputService>().GetOutputDirectory();
            var services = await AppModelReader.ReadAsync(context.Model, context.ExecutionContext, context.CancellationToken);
            var files = KubernetesPublisher.Publish(services, output);
            context.Logger.LogInformation("Wrote {Count} files to {Output}; check them with: kubectl kustomize {Output}", files.Count, output, output);
        }, requiredBy: WellKnownPipelineSteps.Publish);
        builder.Services.AddHostedService<PipelineTempDirectoryCleanup>();
        return builder;
    }
}
