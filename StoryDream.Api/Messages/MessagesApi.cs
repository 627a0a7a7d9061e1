using System.Security.Claims;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.AspNetCore.Mvc;
using StoryDream.Api.Http;
using StoryDream.Api.Projects;

namespace StoryDream.Api.Messages;

/// <summary>Chat history; the chat itself (a WebSocket) writes it.</summary>
internal static class MessagesApi
{
    private const string ListName = "messages";
    private const int DefaultPageSize = 50;
    private const int MaxPageSize = 200;

    public static IEndpointRouteBuilder MapMessagesApi(this IEndpointRouteBuilder app)
    {
        app.MapGet("/api/projects/{id}/messages", ListAsync).WithTags("Messages").RequireAuthorization();
        return app;
    }

    public static async Task<Results<Ok<Page<ChatMessage>>, ValidationProblem, ProblemHttpResult>> ListAsync(
        string id, [FromQuery] string? pageSize, [FromQuery] string? pageToken, ClaimsPrincipal user, IProjectStore projects,
        IMessageStore messages, CancellationToken cancellationToken)
    {
        // A malformed id names no project, and must never reach a Firestore path.
        if (!ProjectIds.IsValid(id)) { return ProjectsApi.NotFound(); }
        var errors = new ValidationErrors();
        var size = Paging.PageSize(pageSize, DefaultPageSize, MaxPageSize, errors);
        var after = Paging.Decode(pageToken, $"{ListName}:{id}", messages.IsValidCursor, errors);
        if (errors.Any)
        {
            // Someone else's project is not found, whatever the query says.
            return await ProjectsApi.FindAsync(projects, user, id, cancellationToken) is null
                ? ProjectsApi.NotFound()
                : ApiProblems.Validation(errors.ToDictionary());
        }

        // The ownership check and the page are independent reads, so they take one round trip, not two; the page of a
        // project that is not the caller's is read but never shown.
        var owned = ProjectsApi.FindAsync(projects, user, id, cancellationToken);
        var page = messages.ListAsync(id, size!.Value, after, cancellationToken);
        await Task.WhenAll(owned, page);
        if (await owned is null) { return ProjectsApi.NotFound(); }
        var (items, next) = await page;
        return TypedResults.Ok(new Page<ChatMessage>(items, next is null ? null : Paging.Encode($"{ListName}:{id}", next)));
    }
}
