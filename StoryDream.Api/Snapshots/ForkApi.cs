using System.Security.Claims;
using Microsoft.AspNetCore.Http.HttpResults;
using StoryDream.Api.Auth;
using StoryDream.Api.Http;
using StoryDream.Api.Messages;
using StoryDream.Api.Projects;
using StoryDream.Snapshots;

namespace StoryDream.Api.Snapshots;

/// <summary>
/// "Start a new project from this version": a project of the caller's whose head is the snapshot. Content addressing
/// makes it O(1): the new project gets the tree's manifest (one small object) and a history entry, never a file.
/// </summary>
internal static class ForkApi
{
    private const string Suffix = " (fork)";

    public static async Task<Results<Created<ProjectResponse>, ProblemHttpResult>> ForkAsync(
        string id, string snapshotId, ClaimsPrincipal user, IProjectStore projects, ISnapshotStore snapshots, IMessageStore messages,
        TimeProvider time, HttpResponse response, CancellationToken cancellationToken)
    {
        if (await ProjectsApi.FindAsync(projects, user, id, cancellationToken) is not { } source) { return ProjectsApi.NotFound(); }
        if (!Sha256Hex.IsValid(snapshotId) || await snapshots.ReadTreeAsync(id, snapshotId, cancellationToken) is not { } tree)
        {
            return ApiProblems.NotFound("This project has no such snapshot.");
        }

        var name = source.Name.Length + Suffix.Length > ProjectValidation.MaxNameLength
            ? source.Name[..(ProjectValidation.MaxNameLength - Suffix.Length)] + Suffix
            : source.Name + Suffix;
        var version = snapshotId[..12];
        var fork = new NewProject(ProjectIds.New(), user.UserId(), name, source.Description,
            source.TemplateId ?? TemplateCatalog.DefaultTemplateId, source.VideoSettings);
        await snapshots.PutManifestAsync(fork.Id, tree, cancellationToken);
        var created = await projects.CreateForkAsync(fork, tree, $"Forked from \"{source.Name}\" at version {version}", cancellationToken);
        await messages.AddAsync(created.Id, new ChatMessage(Guid.NewGuid().ToString("D"), MessageRoles.System,
            $"This project was forked from \"{source.Name}\" (project {source.Id}) at version {version}.",
            MessageStatuses.Complete, [], time.GetUtcNow(), null), cancellationToken);

        response.Headers.ETag = ETags.Quote(created.Version);
        return TypedResults.Created($"/api/projects/{created.Id}", ProjectResponse.From(created));
    }
}
