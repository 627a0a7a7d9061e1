using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using StackExchange.Redis;

namespace StoryDream.Api.Headless;

/// <summary>
/// <c>Idempotency-Key</c> as Stripe does it: the first request with a key reserves it for 24 hours and stores its answer;
/// a retry with the same key and the same body gets that answer again (the same job); the same key with another body is
/// refused; a retry while the first is still being answered is told to wait (409). Keys are per user:
/// <c>headless:idempotency:{ownerId}:{sha256(key)}</c>, holding the body's hash and, once known, the answer.
/// </summary>
internal sealed class Idempotency(IConnectionMultiplexer redis)
{
    public const string Header = "Idempotency-Key";
    public const int MaxKeyLength = 255;
    public static readonly TimeSpan Lifetime = TimeSpan.FromHours(24);

    // A request that dies between reserving and answering must not lock its key for a day.
    private static readonly TimeSpan ReservationLifetime = TimeSpan.FromMinutes(1);

    internal sealed record Entry(string RequestHash, RequirementsAccepted? Response);

    public enum Outcome
    {
        Reserved,
        Replay,
        Mismatch,
        InProgress,
    }

    private IDatabase Db => redis.GetDatabase();

    public static string Key(string ownerId, string idempotencyKey) =>
        $"headless:idempotency:{ownerId}:{Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(idempotencyKey)))}";

    public static string Hash(RequirementsRequest request) =>
        Convert.ToHexStringLower(SHA256.HashData(JsonSerializer.SerializeToUtf8Bytes(request, JsonSerializerOptions.Web)));

    /// <summary>Reserves the key for this request, or says what an earlier request with it left.</summary>
    public async Task<(Outcome Outcome, RequirementsAccepted? Response)> BeginAsync(string key, string requestHash)
    {
        var reserved = JsonSerializer.Serialize(new Entry(requestHash, null), JsonSerializerOptions.Web);
        if (await Db.StringSetAsync(key, reserved, ReservationLifetime, When.NotExists)) { return (Outcome.Reserved, null); }
        var stored = await Db.StringGetAsync(key);
        // Expired between the two calls: the caller may simply try again.
        if (stored.IsNullOrEmpty) { return (Outcome.InProgress, null); }
        var entry = JsonSerializer.Deserialize<Entry>(stored.ToString(), JsonSerializerOptions.Web);
        if (entry is null || entry.RequestHash != requestHash) { return (Outcome.Mismatch, null); }
        return entry.Response is null ? (Outcome.InProgress, null) : (Outcome.Replay, entry.Response);
    }

    public Task CompleteAsync(string key, string requestHash, RequirementsAccepted response) =>
        Db.StringSetAsync(key, JsonSerializer.Serialize(new Entry(requestHash, response), JsonSerializerOptions.Web), Lifetime, When.Exists);

    /// <summary>Frees the key when the request failed before a job existed, so a retry can succeed.</summary>
    public Task AbandonAsync(string key) => Db.KeyDeleteAsync(key);
}
