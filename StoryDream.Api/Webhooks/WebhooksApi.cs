using System.Security.Claims;
using Microsoft.AspNetCore.Http.HttpResults;
using StoryDream.Api.Auth;
using StoryDream.Api.Http;

namespace StoryDream.Api.Webhooks;

public sealed record CreateWebhookRequest(string? Url, IReadOnlyList<string>? Events);

/// <summary>The signing secret is in this response only.</summary>
public sealed record CreatedWebhookResponse(string Id, string Url, IReadOnlyList<string> Events, string Secret, DateTimeOffset CreatedAt);

public sealed record WebhookResponse(
    string Id, string Url, IReadOnlyList<string> Events, bool OneOff, string? JobId, DateTimeOffset CreatedAt,
    bool Disabled, DateTimeOffset? DisabledAt, string? DisabledReason, DateTimeOffset? FailingSince);

public sealed record DeliveryAttemptResponse(DateTimeOffset At, int? StatusCode, double LatencyMs, string? Response, string? Error);

public sealed record DeliveryResponse(
    string Id, string Type, string? JobId, string Status, int AttemptCount, IReadOnlyList<DeliveryAttemptResponse> Attempts,
    DateTimeOffset CreatedAt, DateTimeOffset? NextAttemptAt, DateTimeOffset? DeliveredAt);

/// <summary>Webhook endpoints of the caller (DESIGN section 11): register, list, remove, the delivery log and redelivery.</summary>
internal static class WebhooksApi
{
    private const int MaxWebhooksPerUser = 20;
    private const int DeliveryLogSize = 100;

    public static IEndpointRouteBuilder MapWebhooksApi(this IEndpointRouteBuilder app)
    {
        var api = app.MapGroup("/api/webhooks").WithTags("Webhooks").RequireAuthorization();
        api.MapPost("/", CreateAsync);
        api.MapGet("/", ListAsync);
        api.MapDelete("/{id}", DeleteAsync);
        api.MapGet("/{id}/deliveries", DeliveriesAsync);
        api.MapPost("/{id}/deliveries/{deliveryId}/redeliver", RedeliverAsync);
        return app;
    }

    public static async Task<Results<Created<CreatedWebhookResponse>, ValidationProblem, ProblemHttpResult>> CreateAsync(
        CreateWebhookRequest request, ClaimsPrincipal user, WebhookStore store, WebhookDestinations destinations, TimeProvider time,
        CancellationToken cancellationToken)
    {
        var errors = new ValidationErrors();
        if (await destinations.CheckUrlAsync(request.Url, cancellationToken) is { } urlProblem) { errors.Add("url", $"url {urlProblem}"); }
        var events = request.Events?.Distinct(StringComparer.Ordinal).ToList() ?? [];
        if (events.Count == 0 || events.Any(e => !WebhookEvents.All.Contains(e)))
        {
            errors.Add("events", $"events must name one or more of: {string.Join(", ", WebhookEvents.All)}.");
        }
        if (errors.Any) { return ApiProblems.Validation(errors.ToDictionary()); }

        var owner = user.UserId();
        if ((await store.ListAsync(owner, cancellationToken)).Count(w => !w.Data.OneOff) >= MaxWebhooksPerUser)
        {
            return ApiProblems.Conflict($"A user may register at most {MaxWebhooksPerUser} webhooks; delete one first.");
        }
        var id = Guid.NewGuid().ToString("D");
        var webhook = new WebhookDocument(owner, request.Url!, events, WebhookSignature.NewSecret(), OneOff: false, JobId: null, time.GetUtcNow());
        await store.CreateAsync(id, webhook, cancellationToken);
        return TypedResults.Created($"/api/webhooks/{id}", new CreatedWebhookResponse(id, webhook.Url, events, webhook.Secret, webhook.CreatedAt));
    }

    public static async Task<Ok<Page<WebhookResponse>>> ListAsync(ClaimsPrincipal user, WebhookStore store, CancellationToken cancellationToken)
    {
        var items = await store.ListAsync(user.UserId(), cancellationToken);
        return TypedResults.Ok(new Page<WebhookResponse>(
            items.OrderByDescending(w => w.Data.CreatedAt).Select(w => ToResponse(w.Id, w.Data)).ToList(), null));
    }

    public static async Task<Results<NoContent, ProblemHttpResult>> DeleteAsync(
        string id, ClaimsPrincipal user, WebhookStore store, CancellationToken cancellationToken)
    {
        if (await store.FindAsync(user.UserId(), id, cancellationToken) is null) { return NotFound(); }
        await store.DeleteAsync(id, cancellationToken);
        return TypedResults.NoContent();
    }

    public static async Task<Results<Ok<Page<DeliveryResponse>>, ProblemHttpResult>> DeliveriesAsync(
        string id, ClaimsPrincipal user, WebhookStore store, CancellationToken cancellationToken)
    {
        if (await store.FindAsync(user.UserId(), id, cancellationToken) is null) { return NotFound(); }
        var deliveries = await store.ListDeliveriesAsync(id, DeliveryLogSize, cancellationToken);
        return TypedResults.Ok(new Page<DeliveryResponse>(deliveries.Select(d => ToResponse(d.Id, d.Data)).ToList(), null));
    }

    /// <summary>Sends the delivery again now, with the same id and payload (a fresh signature), and retries it for another window.</summary>
    public static async Task<Results<Accepted<DeliveryResponse>, ProblemHttpResult>> RedeliverAsync(
        string id, string deliveryId, ClaimsPrincipal user, WebhookStore store, WebhookOutbox outbox,
        Microsoft.Extensions.Options.IOptions<WebhookOptions> options, TimeProvider time, CancellationToken cancellationToken)
    {
        if (await store.FindAsync(user.UserId(), id, cancellationToken) is not { } webhook) { return NotFound(); }
        if (await store.GetDeliveryAsync(id, deliveryId, cancellationToken) is not { } delivery)
        {
            return ApiProblems.NotFound("The webhook has no such delivery.");
        }
        if (webhook.DisabledAt is not null)
        {
            return ApiProblems.Conflict("The webhook is disabled; register it again to receive deliveries.");
        }
        var now = time.GetUtcNow();
        delivery = delivery with { Status = DeliveryStatuses.Pending, RetryUntil = now + options.Value.RetryWindow, NextAttemptAt = now };
        await store.SaveDeliveryAsync(id, deliveryId, delivery, cancellationToken);
        await outbox.ScheduleAsync(id, deliveryId, now);
        return TypedResults.Accepted($"/api/webhooks/{id}/deliveries", ToResponse(deliveryId, delivery));
    }

    private static WebhookResponse ToResponse(string id, WebhookDocument w) =>
        new(id, w.Url, w.Events, w.OneOff, w.JobId, w.CreatedAt, w.DisabledAt is not null, w.DisabledAt, w.DisabledReason, w.FailingSince);

    private static DeliveryResponse ToResponse(string id, DeliveryDocument d) =>
        new(id, d.Type, d.JobId, d.Status, d.AttemptCount,
            d.Attempts.Select(a => new DeliveryAttemptResponse(a.At, a.StatusCode, a.LatencyMs, a.Response, a.Error)).ToList(),
            d.CreatedAt, d.NextAttemptAt, d.DeliveredAt);

    private static ProblemHttpResult NotFound() => ApiProblems.NotFound("There is no such webhook.");
}
