using System.ComponentModel.DataAnnotations;

namespace StoryDream.Api.Downloads;

/// <summary>Download links, bound from <c>Downloads</c>.</summary>
internal sealed class DownloadLinkOptions : IValidatableObject
{
    public const string SectionName = "Downloads";

    /// <summary>How long a link works; Cloud Storage allows signed URLs up to 7 days, we keep them short.</summary>
    public TimeSpan LinkLifetime { get; set; } = TimeSpan.FromMinutes(10);

    public IEnumerable<ValidationResult> Validate(ValidationContext validationContext)
    {
        if (LinkLifetime < TimeSpan.FromSeconds(30) || LinkLifetime > TimeSpan.FromHours(1))
        {
            yield return new ValidationResult("Downloads:LinkLifetime must be between 30 seconds and 1 hour.", [nameof(LinkLifetime)]);
        }
    }

    /// <summary>The objects a project's links may name: its own assets, nothing of another project and no snapshot data.</summary>
    public static bool IsProjectAsset(string projectId, string objectName) =>
        objectName.StartsWith($"assets/{projectId}/", StringComparison.Ordinal) && objectName.Length > $"assets/{projectId}/".Length
        && !objectName.Split('/').Any(segment => segment is "" or "." or "..");
}
