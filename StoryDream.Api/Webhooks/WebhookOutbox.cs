using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using Microsoft.Extensions.Options;
using StackExchange.Redis;

namespace StoryDream.Api.Webhooks;

/// <summary>
/// Records deliveries and schedules them. The record is the Firestore delivery document; the schedule is the Redis
/// sorted set <c>webhooks:due</c> (member <c>{webhookId}/{deliveryId}</c>, score the next attempt's time in unix ms), which
/// survives restarts with Redis's persistence as <c>sync:jobs</c> does. A delivery's id is derived from its job, type and
/// webhook, so a job announcing twice (resumed after a restart) creates it once.
/// </summary>
internal sealed class WebhookOutbox(WebhookStore store, IConnectionMultiplexer redis, IOptions<WebhookOptions> options, TimeProvider time) : IDisposable
{
    public const string DueKey = "webhooks:due";
    private static readonly JsonSerializerOptions Json = JsonSerializerOptions.Web;
    private readonly SemaphoreSlim _signal = new(0, int.MaxValue);

    /// <summary>Released whenever this process schedules something due now, so its dispatcher sends without waiting for a poll.</summary>
    public SemaphoreSlim Signal => _signal;

    /// <summary>Announces <paramref name="type"/> for a job to the owner's subscribed webhooks and the job's own one.</summary>
    public async Task AnnounceAsync(string ownerId, string jobId, string? oneOffWebhookId, string type, object data, CancellationToken cancellationToken)
    {
        var targets = new List<string>();
        foreach (var webhook in await store.ListAsync(ownerId, cancellationToken))
        {
            var isTarget = webhook.Data.OneOff
                ? webhook.Id == oneOffWebhookId && webhook.Data.JobId == jobId
                : webhook.Data.DisabledAt is null && webhook.Data.Events.Contains(type);
            if (isTarget) { targets.Add(webhook.Id); }
        }
        var now = time.GetUtcNow();
        foreach (var webhookId in targets)
        {
            var deliveryId = DeliveryId(jobId, type, webhookId);
            var payload = JsonSerializer.Serialize(new { id = deliveryId, type, time = now, data }, Json);
            var delivery = new DeliveryDocument(type, jobId, payload, DeliveryStatuses.Pending, [], 0, now, now + options.Value.RetryWindow, now);
            if (!await store.TryCreateDeliveryAsync(webhookId, deliveryId, delivery, cancellationToken)
                && await store.GetDeliveryAsync(webhookId, deliveryId, cancellationToken) is not { Status: DeliveryStatuses.Pending })
            {
                // Announced and sent (or given up on) before a restart: sending again would be a duplicate.
                continue;
            }
            // NX: a delivery already scheduled (by an announcement before a restart) keeps its place and attempt count.
            await redis.GetDatabase().SortedSetAddAsync(DueKey, Member(webhookId, deliveryId), now.ToUnixTimeMilliseconds(), SortedSetWhen.NotExists);
        }
        if (targets.Count > 0) { _signal.Release(); }
    }

    /// <summary>Schedules an attempt at <paramref name="at"/>, whether or not one is scheduled.</summary>
    public async Task ScheduleAsync(string webhookId, string deliveryId, DateTimeOffset at)
    {
        await redis.GetDatabase().SortedSetAddAsync(DueKey, Member(webhookId, deliveryId), at.ToUnixTimeMilliseconds());
        if (at <= time.GetUtcNow()) { _signal.Release(); }
    }

    public void Dispose() => _signal.Dispose();

    public static string Member(string webhookId, string deliveryId) => $"{webhookId}/{deliveryId}";

    /// <summary>A UUID-shaped id from the SHA-256 of job, type and webhook.</summary>
    internal static string DeliveryId(string jobId, string type, string webhookId)
    {
        var hash = SHA256.HashData(Encoding.UTF8.GetBytes($"{jobId}\n{type}\n{webhookId}"));
        return new Guid(hash.AsSpan(0, 16), bigEndian: true).ToString("D");
    }
}
