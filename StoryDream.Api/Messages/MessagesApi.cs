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
        if (await ProjectsApi.FindAsync(projects, user, id, cancellationToken) is null) { return ProjectsApi.NotFound(); }
        var errors = new ValidationErrors();
        var size = Paging.PageSize(pageSize, DefaultPageSize, MaxPageSize, errors);
        var after = Paging.Decode(pageToken, $"{ListName}:{id}", messages.IsValidCursor, errors);
        if (errors.Any) { return ApiProblems.Validation(errors.ToDictionary()); }

        var (items, next) = await messages.ListAsync(id, size!.Value, after, cancellationToken);
        return TypedResults.Ok(new Page<ChatMessage>(items, next is null ? null : Paging.Encode($"{ListName}:{id}", next)));
    }
}
