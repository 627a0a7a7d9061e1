using System.Buffers.Text;
using System.Diagnostics.Metrics;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json.Serialization;
using StackExchange.Redis;

namespace StoryDream.Sessions;

/// <summary>
/// Checks that the pod answering at a session's recorded address is that session's pod, before anything is read from it
/// or written to it. A dead pod's address can be given to another tenant's pod; a bare IP proves nothing. The caller sends
/// a random challenge to <c>/health</c> (open, so the secret never goes to a pod not yet proven) and the pod answers with
/// its session id and an HMAC of the challenge under the session's pod secret, which another pod cannot compute.
/// </summary>
public static class PodIdentity
{
    public const string MeterName = "StoryDream.Pods";

    // Marks a session whose address now leads to another pod: its next start replaces it instead of reusing it.
    public const string ReplaceField = "replace";

    private const string MarkScript = """
        if redis.call('EXISTS', KEYS[1]) == 1 then
          redis.call('HSET', KEYS[1], ARGV[1], ARGV[2])
          return 1
        end
        return 0
        """;

    private static readonly Meter Meter = new(MeterName);
    private static readonly Counter<long> Refused = Meter.CreateCounter<long>(
        "storydream.pod.identity_refused", unit: "{pod}", description: "Pods refused because they could not prove they are the session's pod");

    /// <summary>The proof a pod gives for <paramref name="challenge"/>; session-pod/src/identity.ts computes the same.</summary>
    public static string Proof(string podSecret, string sessionId, string challenge)
    {
        ArgumentNullException.ThrowIfNull(podSecret);
        return Base64Url.EncodeToString(HMACSHA256.HashData(Encoding.UTF8.GetBytes(podSecret), Encoding.UTF8.GetBytes($"storydream-pod-identity\n{sessionId}\n{challenge}")));
    }

    /// <summary>
    /// Asks the pod at <paramref name="portUrl"/> (its :3001 or :3002 base URL) to prove it is <paramref name="session"/>'s pod.
    /// Returns null when it did, else why not. A pod that does not answer at all throws as the client does
    /// (<see cref="HttpRequestException"/>, a cancellation): that is an unreachable pod, not an impostor.
    /// </summary>
    public static Task<string?> VerifyAsync(HttpClient http, Uri portUrl, SessionRecord session, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(session);
        return VerifyAsync(http, portUrl, session.SessionId, session.PodSecret, cancellationToken);
    }

    /// <summary>
    /// The same check for any pod the platform started with a pod secret: a session's, or a render pod's
    /// (<paramref name="podId"/> is then the render's id, which the pod was started with as its session id).
    /// </summary>
    public static async Task<string?> VerifyAsync(HttpClient http, Uri portUrl, string podId, string? podSecret, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(http);
        ArgumentNullException.ThrowIfNull(portUrl);
        ArgumentNullException.ThrowIfNull(podId);
        if (podSecret is not { Length: > 0 } secret) { return "the pod's record holds no pod secret"; }
        var challenge = Base64Url.EncodeToString(RandomNumberGenerator.GetBytes(24));
        using var request = new HttpRequestMessage(HttpMethod.Get, new Uri(portUrl, $"health?challenge={challenge}"));
        request.Headers.Accept.Add(new MediaTypeWithQualityHeaderValue("application/json"));
        using var response = await http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, cancellationToken);
        if (!response.IsSuccessStatusCode) { return $"its /health answered {(int)response.StatusCode}"; }
        if (response.Content.Headers.ContentLength is > 16 * 1024) { return "its /health answer is too long"; }
        HealthAnswer? answer;
        try
        {
            answer = await response.Content.ReadFromJsonAsync(PodIdentityJson.Default.HealthAnswer, cancellationToken);
        }
        catch (System.Text.Json.JsonException)
        {
            return "its /health answer is not JSON";
        }
        if (!string.Equals(answer?.SessionId, podId, StringComparison.Ordinal))
        {
            return $"it says it is session '{Printable(answer?.SessionId)}'";
        }
        var expected = Encoding.ASCII.GetBytes(Proof(secret, podId, challenge));
        var given = Encoding.ASCII.GetBytes(answer?.Proof ?? "");
        return CryptographicOperations.FixedTimeEquals(expected, given) ? null : "it names the session but cannot prove it (wrong or missing proof)";
    }

    /// <summary>Counts the refusal and marks the session, so the next start replaces it rather than using that address again.</summary>
    public static async Task RefuseAsync(IDatabase db, SessionRecord session, string caller, string reason)
    {
        ArgumentNullException.ThrowIfNull(db);
        ArgumentNullException.ThrowIfNull(session);
        Refused.Add(1, new KeyValuePair<string, object?>("caller", caller));
        await db.ScriptEvaluateAsync(MarkScript, [RedisKeys.Session(session.SessionId)], [ReplaceField, reason]);
    }

    /// <summary>The pod secret as the pod wants it on every request to :3000, :3001 and :3002.</summary>
    public static AuthenticationHeaderValue Authorization(SessionRecord session)
    {
        ArgumentNullException.ThrowIfNull(session);
        return new AuthenticationHeaderValue("Bearer", session.PodSecret ?? throw new InvalidOperationException($"Session {session.SessionId} has no pod secret."));
    }

    private static string Printable(string? text) =>
        text is null ? "(none)" : new string([.. text.Take(80).Select(c => char.IsControl(c) ? '?' : c)]);
}

internal sealed record HealthAnswer(
    [property: JsonPropertyName("sessionId")] string? SessionId,
    [property: JsonPropertyName("proof")] string? Proof);

[JsonSerializable(typeof(HealthAnswer))]
internal sealed partial class PodIdentityJson : JsonSerializerContext;
