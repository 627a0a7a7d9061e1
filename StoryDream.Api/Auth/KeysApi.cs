using System.Security.Claims;
using Microsoft.AspNetCore.Http.HttpResults;
using StoryDream.Api.Http;

namespace StoryDream.Api.Auth;

public sealed record CreateApiKeyRequest(string? Name);

/// <summary>The key itself is in this response only; it cannot be read again.</summary>
public sealed record CreatedApiKeyResponse(string Id, string Name, string Key, DateTimeOffset CreatedAt);

public sealed record ApiKeyResponse(string Id, string Name, DateTimeOffset CreatedAt, DateTimeOffset? LastUsedAt);

/// <summary>API keys for headless clients, managed by the signed-in user (a bearer token, not another key).</summary>
internal static class KeysApi
{
    private const int MaxNameLength = 100;
    private const int MaxKeysPerUser = 50;

    public static IEndpointRouteBuilder MapKeysApi(this IEndpointRouteBuilder app)
    {
        var api = app.MapGroup("/api/keys").WithTags("API keys").RequireAuthorization(AuthSchemes.SignedInPolicy);
        api.MapPost("/", CreateAsync);
        api.MapGet("/", ListAsync);
        api.MapDelete("/{keyId}", DeleteAsync);
        return app;
    }

    public static async Task<Results<Created<CreatedApiKeyResponse>, ValidationProblem, ProblemHttpResult>> CreateAsync(
        CreateApiKeyRequest request, ClaimsPrincipal user, IApiKeyStore keys, TimeProvider time, CancellationToken cancellationToken)
    {
        var name = request.Name?.Trim();
        if (string.IsNullOrEmpty(name) || name.Length > MaxNameLength || name.Any(char.IsControl))
        {
            return ApiProblems.Validation("name", $"name must be 1 to {MaxNameLength} characters, without control characters.");
        }
        var owner = user.UserId();
        if ((await keys.ListAsync(owner, cancellationToken)).Count >= MaxKeysPerUser)
        {
            return ApiProblems.Conflict($"A user may hold at most {MaxKeysPerUser} API keys; delete one first.");
        }

        var clientId = Guid.NewGuid().ToString("D");
        var key = ApiKeyFormat.New(clientId);
        var client = new ApiClient(clientId, owner, name, ApiKeyFormat.Hash(key), time.GetUtcNow(), null);
        await keys.CreateAsync(client, cancellationToken);
        return TypedResults.Created($"/api/keys/{clientId}", new CreatedApiKeyResponse(clientId, name, key, client.CreatedAt));
    }

    public static async Task<Ok<Page<ApiKeyResponse>>> ListAsync(ClaimsPrincipal user, IApiKeyStore keys, CancellationToken cancellationToken)
    {
        var items = await keys.ListAsync(user.UserId(), cancellationToken);
        return TypedResults.Ok(new Page<ApiKeyResponse>(
            items.OrderByDescending(k => k.CreatedAt).Select(k => new ApiKeyResponse(k.ClientId, k.Name, k.CreatedAt, k.LastUsedAt)).ToList(), null));
    }

    public static async Task<Results<NoContent, ProblemHttpResult>> DeleteAsync(
        string keyId, ClaimsPrincipal user, IApiKeyStore keys, CancellationToken cancellationToken)
    {
        var valid = Guid.TryParseExact(keyId, "D", out var parsed) && parsed.ToString("D") == keyId;
        return valid && await keys.DeleteAsync(user.UserId(), keyId, cancellationToken)
            ? TypedResults.NoContent()
            : ApiProblems.NotFound("There is no such API key.");
    }
}
