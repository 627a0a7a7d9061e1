using System.ComponentModel.DataAnnotations;
using Microsoft.AspNetCore.Http.HttpResults;
using StoryDream.Api.Http;

namespace StoryDream.Api.Projects;

/// <summary>Per-user limits on projects, bound from <c>Projects</c>.</summary>
internal sealed class ProjectQuotaOptions
{
    public const string SectionName = "Projects";

    /// <summary>Projects one user may have, those being deleted included.</summary>
    [Range(1, 10_000)]
    public int MaxProjectsPerUser { get; set; } = 100;

    /// <summary>The head trees of one user's projects together, in bytes (versions share content, so history is not counted).</summary>
    [Range(1024, long.MaxValue)]
    public long MaxStorageBytesPerUser { get; set; } = 2L * 1024 * 1024 * 1024;
}

/// <summary>
/// The check before a project is added (created or forked). It is a check, not a reservation: creates racing one another
/// may pass the limit by their number, which bounds abuse as well as an atomic count would at a fraction of the cost.
/// </summary>
internal static class ProjectQuotas
{
    /// <summary>Null when <paramref name="ownerId"/> may add a project of <paramref name="addedBytes"/>; otherwise the 403 naming the limit and the use.</summary>
    public static async Task<ProblemHttpResult?> CheckAsync(
        IProjectStore projects, ProjectQuotaOptions quota, string ownerId, long addedBytes, CancellationToken cancellationToken)
    {
        var usage = await projects.UsageAsync(ownerId, quota.MaxProjectsPerUser, cancellationToken);
        if (usage.Projects >= quota.MaxProjectsPerUser)
        {
            return ApiProblems.QuotaExceeded(
                $"You have {usage.Projects} projects, the most one user may have ({quota.MaxProjectsPerUser}); delete one to add another.",
                "Projects:MaxProjectsPerUser", quota.MaxProjectsPerUser, usage.Projects);
        }
        if (usage.Bytes + addedBytes > quota.MaxStorageBytesPerUser)
        {
            return ApiProblems.QuotaExceeded(
                $"Your projects take {usage.Bytes} bytes; this one ({addedBytes} bytes) would take them past the storage limit of {quota.MaxStorageBytesPerUser} bytes.",
                "Projects:MaxStorageBytesPerUser", quota.MaxStorageBytesPerUser, usage.Bytes);
        }
        return null;
    }
}
