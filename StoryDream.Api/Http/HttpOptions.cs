using System.ComponentModel.DataAnnotations;

namespace StoryDream.Api.Http;

/// <summary>Limits on requests, bound from <c>Api</c>.</summary>
internal sealed class HttpOptions
{
    public const string SectionName = "Api";

    /// <summary>Larger request bodies are refused with 413 before any handler reads them.</summary>
    [Range(1024, 64 * 1024 * 1024)]
    public long MaxRequestBodyBytes { get; set; } = 1024 * 1024;
}
