using System.Diagnostics;
using System.Net.Http.Headers;
using System.Text;
using Microsoft.Extensions.Options;
using StackExchange.Redis;

namespace StoryDream.Api.Webhooks;

/// <summary>
/// Sends due deliveries. Each round takes the due members of <c>webhooks:due</c> and, in the same Lua step, moves them a
/// lease into the future, so two API processes never send one attempt together, and one that dies mid-attempt leaves the
/// delivery due again once the lease ends (a receiver may then see an id twice: the payload's <c>id</c> lets it tell).
/// A non-2xx answer, a timeout or a refused connection is retried with exponential backoff until the retry window ends.
/// </summary>
internal sealed partial class WebhookDispatcher(
    WebhookStore store,
    WebhookOutbox outbox,
    WebhookDestinations destinations,
    IConnectionMultiplexer redis,
    IOptions<WebhookOptions> options,
    TimeProvider time,
    ILogger<WebhookDispatcher> logger) : BackgroundService
{
    public const int MaxResponseChars = 1024;

    // KEYS: due set. ARGV: now (ms), lease end (ms), count. Returns the members taken.
    private const string TakeScript = """
        local due = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', ARGV[1], 'LIMIT', 0, tonumber(ARGV[3]))
        for _, member in ipairs(due) do
          redis.call('ZADD', KEYS[1], 'XX', ARGV[2], member)
        end
        return due
        """;

    private readonly WebhookOptions _options = options.Value;
    private HttpClient? _http;

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        await Task.Yield();
        _http = destinations.CreateClient();
        var lease = _options.AttemptTimeout + TimeSpan.FromSeconds(20);
        while (!stoppingToken.IsCancellationRequested)
        {
            try
            {
                var now = time.GetUtcNow();
                var taken = (RedisValue[]?)await redis.GetDatabase().ScriptEvaluateAsync(TakeScript, [WebhookOutbox.DueKey],
                    [now.ToUnixTimeMilliseconds(), (now + lease).ToUnixTimeMilliseconds(), _options.MaxConcurrentDeliveries]) ?? [];
                await Task.WhenAll(taken.Select(member => AttemptAsync(member.ToString(), stoppingToken)));
                if (taken.Length == _options.MaxConcurrentDeliveries) { continue; }
                await WaitAsync(stoppingToken);
            }
            catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
            {
                break;
            }
            catch (Exception e) when (e is RedisException or TimeoutException)
            {
                LogRedisTrouble(logger, e);
                try { await Task.Delay(_options.PollInterval, time, stoppingToken); }
                catch (OperationCanceledException) { break; }
            }
        }
    }

    /// <summary>Until this process schedules something or the poll interval passes; a signal that came meanwhile is taken at once.</summary>
    private async Task WaitAsync(CancellationToken stoppingToken)
    {
        await outbox.Signal.WaitAsync(_options.PollInterval, stoppingToken);
        while (outbox.Signal.CurrentCount > 0) { await outbox.Signal.WaitAsync(0, stoppingToken); }
    }

    private async Task AttemptAsync(string member, CancellationToken stoppingToken)
    {
        var slash = member.IndexOf('/', StringComparison.Ordinal);
        var (webhookId, deliveryId) = slash > 0 ? (member[..slash], member[(slash + 1)..]) : (member, "");
        try
        {
            var webhook = await store.GetAsync(webhookId, stoppingToken);
            var delivery = webhook is null ? null : await store.GetDeliveryAsync(webhookId, deliveryId, stoppingToken);
            if (webhook is null || delivery is null || delivery.Status != DeliveryStatuses.Pending)
            {
                await redis.GetDatabase().SortedSetRemoveAsync(WebhookOutbox.DueKey, member);
                return;
            }
            if (webhook.DisabledAt is not null)
            {
                await FinishAsync(webhookId, deliveryId, delivery with { Status = DeliveryStatuses.Failed }, member);
                return;
            }

            var attempt = await SendAsync(webhook, delivery, stoppingToken);
            var attempts = delivery.Attempts.Append(attempt).TakeLast(WebhookStore.MaxStoredAttempts).ToList();
            delivery = delivery with { Attempts = attempts, AttemptCount = delivery.AttemptCount + 1 };
            if (attempt.StatusCode is >= 200 and < 300)
            {
                await FinishAsync(webhookId, deliveryId, delivery with { Status = DeliveryStatuses.Delivered, DeliveredAt = attempt.At, NextAttemptAt = null }, member);
                if (webhook.FailingSince is not null) { await store.SaveAsync(webhookId, webhook with { FailingSince = null }, CancellationToken.None); }
                LogDelivered(logger, deliveryId, webhookId, attempt.LatencyMs);
                return;
            }
            await FailedAttemptAsync(webhookId, webhook, deliveryId, delivery, attempt, member);
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
            // The lease runs out and another process (or this one, restarted) tries again.
        }
        catch (Exception e) when (e is HttpRequestException or GoogleCloud.Firestore.FirestoreException or RedisException or InvalidOperationException)
        {
            LogAttemptBroke(logger, e, deliveryId, webhookId);
        }
    }

    private async Task FailedAttemptAsync(string webhookId, WebhookDocument webhook, string deliveryId, DeliveryDocument delivery, DeliveryAttempt attempt, string member)
    {
        var now = attempt.At;
        var failingSince = webhook.FailingSince ?? now;
        if (now - failingSince >= _options.DisableAfter)
        {
            var reason = $"Disabled on {now:u}: every delivery failed for {_options.DisableAfter.TotalDays:0.##} days (last: {attempt.Error ?? $"HTTP {attempt.StatusCode}"}).";
            await store.SaveAsync(webhookId, webhook with { FailingSince = failingSince, DisabledAt = now, DisabledReason = reason }, CancellationToken.None);
            LogDisabled(logger, webhookId, reason);
            await FinishAsync(webhookId, deliveryId, delivery with { Status = DeliveryStatuses.Failed, NextAttemptAt = null }, member);
            return;
        }
        if (webhook.FailingSince is null) { await store.SaveAsync(webhookId, webhook with { FailingSince = now }, CancellationToken.None); }

        var delay = RetryDelay(delivery.AttemptCount, _options);
        if (now + delay > delivery.RetryUntil)
        {
            await FinishAsync(webhookId, deliveryId, delivery with { Status = DeliveryStatuses.Failed, NextAttemptAt = null }, member);
            LogGaveUp(logger, deliveryId, webhookId, delivery.AttemptCount);
            return;
        }
        await store.SaveDeliveryAsync(webhookId, deliveryId, delivery with { NextAttemptAt = now + delay }, CancellationToken.None);
        await outbox.ScheduleAsync(webhookId, deliveryId, now + delay);
    }

    /// <summary>The wait after the <paramref name="attempts"/>-th failed attempt: the first delay, doubled each time, capped.</summary>
    internal static TimeSpan RetryDelay(int attempts, WebhookOptions options)
    {
        var factor = Math.Pow(2, Math.Clamp(attempts - 1, 0, 40));
        var delay = TimeSpan.FromMilliseconds(Math.Min(options.FirstRetryDelay.TotalMilliseconds * factor, options.MaxRetryDelay.TotalMilliseconds));
        return delay;
    }

    private async Task FinishAsync(string webhookId, string deliveryId, DeliveryDocument delivery, string member)
    {
        await store.SaveDeliveryAsync(webhookId, deliveryId, delivery, CancellationToken.None);
        await redis.GetDatabase().SortedSetRemoveAsync(WebhookOutbox.DueKey, member);
    }

    private async Task<DeliveryAttempt> SendAsync(WebhookDocument webhook, DeliveryDocument delivery, CancellationToken stoppingToken)
    {
        var body = Encoding.UTF8.GetBytes(delivery.Payload);
        var at = time.GetUtcNow();
        using var request = new HttpRequestMessage(HttpMethod.Post, webhook.Url) { Content = new ByteArrayContent(body) };
        request.Content.Headers.ContentType = new MediaTypeHeaderValue("application/json");
        request.Headers.TryAddWithoutValidation(WebhookSignature.Header, WebhookSignature.Sign(webhook.Secret, at, body));
        request.Headers.UserAgent.ParseAdd("StoryDream-Webhooks/1");
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(stoppingToken);
        timeout.CancelAfter(_options.AttemptTimeout);
        var started = Stopwatch.GetTimestamp();
        try
        {
            using var response = await _http!.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, timeout.Token);
            var text = await ReadStartAsync(response, timeout.Token);
            return new DeliveryAttempt(at, (int)response.StatusCode, Stopwatch.GetElapsedTime(started).TotalMilliseconds, text, null);
        }
        catch (OperationCanceledException) when (!stoppingToken.IsCancellationRequested)
        {
            return new DeliveryAttempt(at, null, Stopwatch.GetElapsedTime(started).TotalMilliseconds, null,
                $"No answer within {_options.AttemptTimeout.TotalSeconds:0.#} s.");
        }
        catch (HttpRequestException e)
        {
            var reason = e.InnerException is WebhookDestinationRefusedException refused ? refused.Message : e.Message;
            return new DeliveryAttempt(at, null, Stopwatch.GetElapsedTime(started).TotalMilliseconds, null, reason);
        }
    }

    /// <summary>The first 1 KB of the answer's body, as text; the rest is not read.</summary>
    private static async Task<string?> ReadStartAsync(HttpResponseMessage response, CancellationToken cancellationToken)
    {
        try
        {
            await using var stream = await response.Content.ReadAsStreamAsync(cancellationToken);
            var buffer = new byte[MaxResponseChars];
            var read = 0;
            while (read < buffer.Length)
            {
                var n = await stream.ReadAsync(buffer.AsMemory(read), cancellationToken);
                if (n == 0) { break; }
                read += n;
            }
            return read == 0 ? null : Encoding.UTF8.GetString(buffer, 0, read);
        }
        catch (IOException)
        {
            return null;
        }
    }

    public override void Dispose()
    {
        _http?.Dispose();
        base.Dispose();
    }

    [LoggerMessage(EventId = 5101, Level = LogLevel.Debug, Message = "Delivery {DeliveryId} to webhook {WebhookId} delivered in {LatencyMs:0} ms")]
    private static partial void LogDelivered(ILogger logger, string deliveryId, string webhookId, double latencyMs);

    [LoggerMessage(EventId = 5102, Level = LogLevel.Warning, Message = "Webhook {WebhookId} is disabled: {Reason}")]
    private static partial void LogDisabled(ILogger logger, string webhookId, string reason);

    [LoggerMessage(EventId = 5103, Level = LogLevel.Warning, Message = "Delivery {DeliveryId} to webhook {WebhookId} failed for good after {Attempts} attempts")]
    private static partial void LogGaveUp(ILogger logger, string deliveryId, string webhookId, int attempts);

    [LoggerMessage(EventId = 5104, Level = LogLevel.Warning, Message = "An attempt of delivery {DeliveryId} to webhook {WebhookId} broke off; it is retried when its lease ends")]
    private static partial void LogAttemptBroke(ILogger logger, Exception exception, string deliveryId, string webhookId);

    [LoggerMessage(EventId = 5105, Level = LogLevel.Warning, Message = "Redis trouble in the webhook dispatcher; retrying")]
    private static partial void LogRedisTrouble(ILogger logger, Exception exception);
}
