using System.ComponentModel;
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

    // The studio asks for the newest page first, so a long history is on screen after one query.
    public static async Task<Results<Ok<Page<ChatMessage>>, ValidationProblem, ProblemHttpResult>> ListAsync(
        string id, [FromQuery] string? pageSize, [FromQuery] string? pageToken, [FromQuery, Description("oldest (the default) or newest first; a page token continues in its own order only")] string? order, ClaimsPrincipal user,
        IProjectStore projects, IMessageStore messages, CancellationToken cancellationToken)
    {
        // A malformed id names no project, and must never reach a Firestore path.
        if (!ProjectIds.IsValid(id)) { return ProjectsApi.NotFound(); }
        var errors = new ValidationErrors();
        var size = Paging.PageSize(pageSize, DefaultPageSize, MaxPageSize, errors);
        var newestFirst = order switch
        {
            null or "oldest" => false,
            "newest" => true,
            _ => Invalid(errors),
        };
        // The order is part of the token's list, so a token never continues a page in the other order.
        var list = newestFirst ? $"{ListName}-newest:{id}" : $"{ListName}:{id}";
        var after = Paging.Decode(pageToken, list, messages.IsValidCursor, errors);
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
        var page = messages.ListAsync(id, size!.Value, after, newestFirst, cancellationToken);
        await Task.WhenAll(owned, page);
        if (await owned is null) { return ProjectsApi.NotFound(); }
        var (items, next) = await page;
        return TypedResults.Ok(new Page<ChatMessage>(items, next is null ? null : Paging.Encode(list, next)));
    }

    private static bool Invalid(ValidationErrors errors)
    {
        errors.Add("order", "The order must be 'oldest' or 'newest'.");
        return false;
    }
}
