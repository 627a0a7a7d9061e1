using System.Collections.Concurrent;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using Microsoft.Extensions.Options;
using StackExchange.Redis;
using StoryDream.GoogleCloud.Firestore;

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
    private static readonly TimeSpan FreshLifetime = TimeSpan.FromMinutes(1);
    private readonly SemaphoreSlim _signal = new(0, int.MaxValue);

    // Deliveries this process just created, with their webhook, so its dispatcher sends the first attempt without reading
    // back from Firestore what it wrote a moment ago. Another process's dispatcher reads them; its entry here then ages out.
    private readonly ConcurrentDictionary<string, (WebhookDocument Webhook, DeliveryDocument Delivery, DateTimeOffset At)> _fresh = new(StringComparer.Ordinal);

    /// <summary>Released whenever this process schedules something due now, so its dispatcher sends without waiting for a poll.</summary>
    public SemaphoreSlim Signal => _signal;

    /// <summary>The owner's webhooks as they stand, to pick an announcement's targets from (<see cref="Prepare"/>).</summary>
    public Task<IReadOnlyList<FirestoreDocument<WebhookDocument>>> ListWebhooksAsync(string ownerId, CancellationToken cancellationToken) =>
        store.ListAsync(ownerId, cancellationToken);

    /// <summary>
    /// The deliveries announcing <paramref name="type"/> for a job to those of <paramref name="webhooks"/> that take it: the
    /// owner's subscribed ones and the job's own one. Nothing is written: <see cref="Announcement.Writes"/> go into the commit
    /// that stores the job's end, and <see cref="ScheduleAsync(Announcement)"/> follows it.
    /// </summary>
    public Announcement Prepare(IEnumerable<FirestoreDocument<WebhookDocument>> webhooks, string jobId, string? oneOffWebhookId, string type, object data)
    {
        var now = time.GetUtcNow();
        var deliveries = new List<Announcement.Delivery>();
        foreach (var webhook in webhooks)
        {
            var isTarget = webhook.Data.OneOff
                ? webhook.Id == oneOffWebhookId && webhook.Data.JobId == jobId
                : webhook.Data.DisabledAt is null && webhook.Data.Events.Contains(type);
            if (!isTarget) { continue; }
            var deliveryId = DeliveryId(jobId, type, webhook.Id);
            var payload = JsonSerializer.Serialize(new { id = deliveryId, type, time = now, data }, Json);
            deliveries.Add(new(webhook.Id, webhook.Data, deliveryId,
                new DeliveryDocument(type, jobId, payload, DeliveryStatuses.Pending, [], 0, now, now + options.Value.RetryWindow, now)));
        }
        return new Announcement(deliveries);
    }

    /// <summary>Schedules an announcement whose <see cref="Announcement.Writes"/> were just committed, to be sent at once.</summary>
    public async Task ScheduleAsync(Announcement announcement)
    {
        ArgumentNullException.ThrowIfNull(announcement);
        Forget();
        var now = time.GetUtcNow();
        foreach (var delivery in announcement.Deliveries)
        {
            _fresh[Member(delivery.WebhookId, delivery.DeliveryId)] = (delivery.Webhook, delivery.Document, now);
        }
        await ScheduleNowAsync(announcement.Deliveries);
    }

    /// <summary>
    /// Announces <paramref name="type"/> for a job whose end is already stored: a job taken over after its runner died, which
    /// may have announced it before. Each delivery is created unless it exists, and scheduled unless it was sent.
    /// </summary>
    public async Task AnnounceAsync(string ownerId, string jobId, string? oneOffWebhookId, string type, object data, CancellationToken cancellationToken)
    {
        var announcement = Prepare(await ListWebhooksAsync(ownerId, cancellationToken), jobId, oneOffWebhookId, type, data);
        Forget();
        var due = new List<Announcement.Delivery>();
        foreach (var delivery in announcement.Deliveries)
        {
            if (await store.TryCreateDeliveryAsync(delivery.WebhookId, delivery.DeliveryId, delivery.Document, cancellationToken))
            {
                _fresh[Member(delivery.WebhookId, delivery.DeliveryId)] = (delivery.Webhook, delivery.Document, time.GetUtcNow());
            }
            else if (await store.GetDeliveryAsync(delivery.WebhookId, delivery.DeliveryId, cancellationToken) is not { Status: DeliveryStatuses.Pending })
            {
                // Announced and sent (or given up on) before a restart: sending again would be a duplicate.
                continue;
            }
            due.Add(delivery);
        }
        await ScheduleNowAsync(due);
    }

    private async Task ScheduleNowAsync(IReadOnlyCollection<Announcement.Delivery> deliveries)
    {
        if (deliveries.Count == 0) { return; }
        var score = time.GetUtcNow().ToUnixTimeMilliseconds();
        // NX: a delivery already scheduled (by an announcement before a restart) keeps its place and attempt count.
        await redis.GetDatabase().SortedSetAddAsync(DueKey,
            [.. deliveries.Select(d => new SortedSetEntry(Member(d.WebhookId, d.DeliveryId), score))], SortedSetWhen.NotExists);
        _signal.Release();
    }

    private void Forget()
    {
        var now = time.GetUtcNow();
        foreach (var (member, fresh) in _fresh)
        {
            if (now - fresh.At > FreshLifetime) { _fresh.TryRemove(member, out _); }
        }
    }

    /// <summary>A delivery this process created and has not sent yet, with its webhook as it was then; taken once.</summary>
    public bool TryTakeFresh(string member, out WebhookDocument webhook, out DeliveryDocument delivery)
    {
        var found = _fresh.TryRemove(member, out var fresh);
        (webhook, delivery) = (fresh.Webhook, fresh.Delivery);
        return found;
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

/// <summary>The deliveries that announce one event, before they are stored.</summary>
internal sealed record Announcement(IReadOnlyList<Announcement.Delivery> Deliveries)
{
    /// <summary>Creates each delivery; a delivery that exists already fails the whole commit.</summary>
    public IReadOnlyList<Write> Writes => [.. Deliveries.Select(d => Write.Create(WebhookStore.DeliveryPath(d.WebhookId, d.DeliveryId), d.Document))];

    public sealed record Delivery(string WebhookId, WebhookDocument Webhook, string DeliveryId, DeliveryDocument Document);
}
