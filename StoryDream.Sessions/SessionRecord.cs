using System.Globalization;
using StackExchange.Redis;

namespace StoryDream.Sessions;

public enum SessionStatus
{
    Starting,
    Ready,
    Stopping,
}

/// <summary>
/// The <c>session:{id}</c> hash. The URLs are where the gateway and the sync worker reach the pod's three ports.
/// <see cref="PodSecret"/> is what every caller of the pod sends and what the pod proves its identity with (Redis is
/// reached only by the platform's services, never by pods); <see cref="ModelTokenHash"/> is the SHA-256 of the pod's
/// model proxy token, which is never stored itself. <see cref="ReplaceReason"/> is set when the recorded address was
/// found to lead to another pod.
/// </summary>
public sealed record SessionRecord(
    string SessionId,
    string ProjectId,
    string OwnerId,
    SessionStatus Status,
    string Runtime,
    Uri PreviewUrl,
    Uri AgentUrl,
    Uri FilesUrl,
    DateTimeOffset CreatedAt,
    DateTimeOffset LastActivity,
    string? PodSecret = null,
    string? ModelTokenHash = null,
    string? ReplaceReason = null)
{
    public HashEntry[] ToHashEntries()
    {
        var entries = new List<HashEntry>
        {
            new("projectId", ProjectId),
            new("ownerId", OwnerId),
            new("status", StatusText(Status)),
            new("runtime", Runtime),
            new("previewUrl", PreviewUrl.ToString()),
            new("agentUrl", AgentUrl.ToString()),
            new("filesUrl", FilesUrl.ToString()),
            new("createdAt", CreatedAt.ToUnixTimeMilliseconds()),
            new("lastActivity", LastActivity.ToUnixTimeMilliseconds()),
        };
        if (PodSecret is not null) { entries.Add(new("podSecret", PodSecret)); }
        if (ModelTokenHash is not null) { entries.Add(new("modelTokenHash", ModelTokenHash)); }
        if (ReplaceReason is not null) { entries.Add(new(PodIdentity.ReplaceField, ReplaceReason)); }
        return [.. entries];
    }

    /// <summary>Reads the hash back; <c>null</c> when the key is gone or a field is missing (a session being torn down).</summary>
    public static SessionRecord? FromHash(string sessionId, HashEntry[] entries)
    {
        ArgumentNullException.ThrowIfNull(entries);
        if (entries.Length == 0) { return null; }
        var map = entries.ToDictionary(e => e.Name.ToString(), e => e.Value.ToString(), StringComparer.Ordinal);
        string? Field(string name) => map.TryGetValue(name, out var value) && value.Length > 0 ? value : null;

        if (Field("projectId") is not { } projectId || Field("ownerId") is not { } ownerId
            || Field("status") is not { } statusText || ParseStatus(statusText) is not { } status
            || Field("previewUrl") is not { } preview || Field("agentUrl") is not { } agent || Field("filesUrl") is not { } files)
        {
            return null;
        }

        return new SessionRecord(
            sessionId, projectId, ownerId, status, Field("runtime") ?? "local",
            new Uri(preview), new Uri(agent), new Uri(files),
            FromMilliseconds(Field("createdAt")), FromMilliseconds(Field("lastActivity")),
            Field("podSecret"), Field("modelTokenHash"), Field(PodIdentity.ReplaceField));
    }

    public static string StatusText(SessionStatus status) => status switch
    {
        SessionStatus.Starting => "starting",
        SessionStatus.Ready => "ready",
        SessionStatus.Stopping => "stopping",
        _ => throw new ArgumentOutOfRangeException(nameof(status)),
    };

    private static SessionStatus? ParseStatus(string text) => text switch
    {
        "starting" => SessionStatus.Starting,
        "ready" => SessionStatus.Ready,
        "stopping" => SessionStatus.Stopping,
        _ => null,
    };

    private static DateTimeOffset FromMilliseconds(string? text) =>
        long.TryParse(text, NumberStyles.Integer, CultureInfo.InvariantCulture, out var ms)
            ? DateTimeOffset.FromUnixTimeMilliseconds(ms)
            : DateTimeOffset.UnixEpoch;
}
