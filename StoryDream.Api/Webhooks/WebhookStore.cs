using StoryDream.GoogleCloud.Firestore;

namespace StoryDream.Api.Webhooks;

/// <summary>The events a webhook can subscribe to.</summary>
public static class WebhookEvents
{
    public const string JobCompleted = "job.completed";
    public const string JobFailed = "job.failed";
    public const string ExportCompleted = "export.completed";

    public static readonly IReadOnlyList<string> All = [JobCompleted, JobFailed, ExportCompleted];
}

public static class DeliveryStatuses
{
    public const string Pending = "pending";
    public const string Delivered = "delivered";
    public const string Failed = "failed";
}

/// <summary>
/// <c>webhooks/{webhookId}</c>: ownerId, url, events, secret (needed to sign, so stored as given), oneOff and jobId for a
/// request's own <c>webhookUrl</c>, createdAt, failingSince, disabledAt, disabledReason.
/// </summary>
internal sealed record WebhookDocument(
    string OwnerId, string Url, IReadOnlyList<string> Events, string Secret, bool OneOff, string? JobId, DateTimeOffset CreatedAt,
    DateTimeOffset? FailingSince = null, DateTimeOffset? DisabledAt = null, string? DisabledReason = null);

/// <summary>One attempt: when, the answer's status (none when it never came), how long, the first 1 KB of the answer or the error.</summary>
internal sealed record DeliveryAttempt(DateTimeOffset At, int? StatusCode, double LatencyMs, string? Response, string? Error);

/// <summary>
/// <c>webhooks/{webhookId}/deliveries/{deliveryId}</c>: type, jobId, the payload exactly as sent (so every retry sends the
/// same bytes), status, attempts, createdAt, retryUntil, nextAttemptAt, deliveredAt.
/// </summary>
internal sealed record DeliveryDocument(
    string Type, string? JobId, string Payload, string Status, IReadOnlyList<DeliveryAttempt> Attempts, int AttemptCount,
    DateTimeOffset CreatedAt, DateTimeOffset RetryUntil, DateTimeOffset? NextAttemptAt = null, DateTimeOffset? DeliveredAt = null);

internal sealed class WebhookStore(FirestoreClient firestore)
{
    public const string Collection = "webhooks";
    public const int MaxStoredAttempts = 50;

    public static string Path(string webhookId) => $"{Collection}/{webhookId}";

    public static string DeliveryPath(string webhookId, string deliveryId) => $"{Path(webhookId)}/deliveries/{deliveryId}";

    public Task CreateAsync(string webhookId, WebhookDocument webhook, CancellationToken cancellationToken) =>
        firestore.CreateAsync(Path(webhookId), webhook, cancellationToken);

    public async Task<WebhookDocument?> GetAsync(string webhookId, CancellationToken cancellationToken) =>
        (await firestore.GetAsync<WebhookDocument>(Path(webhookId), cancellationToken))?.Data;

    /// <summary>The owner's webhook, or null when it is missing or someone else's (the same answer: 404).</summary>
    public async Task<WebhookDocument?> FindAsync(string ownerId, string webhookId, CancellationToken cancellationToken) =>
        IsId(webhookId) && await GetAsync(webhookId, cancellationToken) is { } webhook && webhook.OwnerId == ownerId ? webhook : null;

    public async Task<IReadOnlyList<FirestoreDocument<WebhookDocument>>> ListAsync(string ownerId, CancellationToken cancellationToken) =>
        await firestore.RunQueryAsync<WebhookDocument>(StructuredQuery.Collection(Collection).Where("ownerId", QueryOperator.Equal, ownerId), cancellationToken);

    public Task SaveAsync(string webhookId, WebhookDocument webhook, CancellationToken cancellationToken) =>
        firestore.SetAsync(Path(webhookId), webhook, cancellationToken: cancellationToken);

    public async Task DeleteAsync(string webhookId, CancellationToken cancellationToken)
    {
        while (true)
        {
            var page = await firestore.ListDocumentsAsync<object>($"{Path(webhookId)}/deliveries", 300, null, cancellationToken);
            if (page.Documents.Count == 0) { break; }
            await firestore.CommitAsync(page.Documents.Select(d => Write.Delete(d.Path)), cancellationToken);
        }
        await firestore.DeleteAsync(Path(webhookId), cancellationToken: cancellationToken);
    }

    /// <summary>Creates the delivery; false when it exists already (a resumed job announcing again).</summary>
    public async Task<bool> TryCreateDeliveryAsync(string webhookId, string deliveryId, DeliveryDocument delivery, CancellationToken cancellationToken)
    {
        try
        {
            await firestore.CreateAsync(DeliveryPath(webhookId, deliveryId), delivery, cancellationToken);
            return true;
        }
        catch (FirestoreException e) when (e.Status == FirestoreStatus.AlreadyExists)
        {
            return false;
        }
    }

    public async Task<DeliveryDocument?> GetDeliveryAsync(string webhookId, string deliveryId, CancellationToken cancellationToken) =>
        IsId(deliveryId) ? (await firestore.GetAsync<DeliveryDocument>(DeliveryPath(webhookId, deliveryId), cancellationToken))?.Data : null;

    public Task SaveDeliveryAsync(string webhookId, string deliveryId, DeliveryDocument delivery, CancellationToken cancellationToken) =>
        firestore.SetAsync(DeliveryPath(webhookId, deliveryId), delivery, cancellationToken: cancellationToken);

    public async Task<IReadOnlyList<FirestoreDocument<DeliveryDocument>>> ListDeliveriesAsync(string webhookId, int limit, CancellationToken cancellationToken) =>
        await firestore.RunQueryAsync<DeliveryDocument>(
            StructuredQuery.Collection($"{Path(webhookId)}/deliveries").OrderByDescending("createdAt").Limit(limit), cancellationToken);

    private static bool IsId(string id) => id.Length == 36 && Guid.TryParseExact(id, "D", out var parsed) && parsed.ToString("D") == id;
}
