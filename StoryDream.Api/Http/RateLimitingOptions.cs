using System.ComponentModel.DataAnnotations;

namespace StoryDream.Api.Http;

/// <summary>Per-user request budget, bound from <c>RateLimiting</c>: <see cref="PermitLimit"/> requests per <see cref="Window"/>.</summary>
internal sealed class RateLimitingOptions : IValidatableObject
{
    public const string SectionName = "RateLimiting";

    [Range(1, 1_000_000)]
    public int PermitLimit { get; set; } = 600;

    public TimeSpan Window { get; set; } = TimeSpan.FromMinutes(1);

    public IEnumerable<ValidationResult> Validate(ValidationContext validationContext)
    {
        if (Window < TimeSpan.FromSeconds(1) || Window > TimeSpan.FromDays(1))
        {
            yield return new ValidationResult("RateLimiting:Window must be between one second and one day.", [nameof(Window)]);
        }
    }
}
