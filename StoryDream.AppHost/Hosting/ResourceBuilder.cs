namespace StoryDream.AppHost.Hosting;

/// <summary>Aspire's <c>IResourceBuilder&lt;T&gt;</c>: a resource being declared, for fluent wiring.</summary>
internal interface IResourceBuilder<out T> where T : Resource
{
    DistributedApplicationBuilder ApplicationBuilder { get; }

    T Resource { get; }
}

internal sealed class ResourceBuilder<T>(DistributedApplicationBuilder applicationBuilder, T resource) : IResourceBuilder<T>
    where T : Resource
{
    public DistributedApplicationBuilder ApplicationBuilder { get; } = applicationBuilder;

    public T Resource { get; } = resource;
}
