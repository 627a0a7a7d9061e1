using System.Text.Json;
using System.Text.Json.Serialization;
using StackExchange.Redis;

namespace StoryDream.Sessions;

public static class SyncKinds
{
    public const string Sync = "sync";
    public const string Hydrate = "hydrate";
}

public static class SyncReasons
{
    public const string AgentTurn = "agent-turn";
    public const string SessionEnd = "session-end";
    public const string Checkpoint = "checkpoint";
    public const string Restore = "restore";

    /// <summary>A hydrate of a render pod: <c>sessionId</c> is then the render's id, found at <c>render:{id}</c>.</summary>
    public const string Render = "render";
}

/// <summary>
/// An entry of the <c>sync:jobs</c> stream (DESIGN section 2). <see cref="TraceParent"/> (optional, W3C
/// <c>traceparent</c>) carries the enqueuing request's trace to the worker, so one trace spans API and sync worker.
/// </summary>
public sealed record SyncJob(
    string JobId,
    string Kind,
    string ProjectId,
    string SessionId,
    string Reason,
    string? MessageId = null,
    string? SnapshotId = null,
    string? TraceParent = null)
{
    public NameValueEntry[] ToStreamFields()
    {
        var fields = new List<NameValueEntry>
        {
            new("jobId", JobId), new("kind", Kind), new("projectId", ProjectId),
            new("sessionId", SessionId), new("reason", Reason),
        };
        if (MessageId is not null) { fields.Add(new("messageId", MessageId)); }
        if (SnapshotId is not null) { fields.Add(new("snapshotId", SnapshotId)); }
        if (TraceParent is not null) { fields.Add(new("traceparent", TraceParent)); }
        return [.. fields];
    }

    /// <summary>Reads a stream entry; <c>null</c> for an entry missing a required field (it is acknowledged and dropped).</summary>
    public static SyncJob? FromStreamFields(NameValueEntry[] fields)
    {
        ArgumentNullException.ThrowIfNull(fields);
        var map = fields.ToDictionary(f => f.Name.ToString(), f => f.Value.ToString(), StringComparer.Ordinal);
        string? Field(string name) => map.TryGetValue(name, out var value) && value.Length > 0 ? value : null;
        if (Field("jobId") is not { } jobId || Field("kind") is not { } kind || Field("projectId") is not { } projectId
            || Field("sessionId") is not { } sessionId || Field("reason") is not { } reason
            || kind is not (SyncKinds.Sync or SyncKinds.Hydrate))
        {
            return null;
        }
        return new SyncJob(jobId, kind, projectId, sessionId, reason, Field("messageId"), Field("snapshotId"), Field("traceparent"));
    }
}

/// <summary>A message on the <c>sync-events</c> channel.</summary>
public sealed record SyncEvent(
    [property: JsonPropertyName("jobId")] string JobId,
    [property: JsonPropertyName("projectId")] string ProjectId,
    [property: JsonPropertyName("status")] string Status,
    [property: JsonPropertyName("snapshotId"), JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] string? SnapshotId = null,
    [property: JsonPropertyName("error"), JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] string? Error = null,
    [property: JsonPropertyName("skipped"), JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] IReadOnlyList<SkippedFile>? Skipped = null)
{
    public const string Done = "done";
    public const string Failed = "failed";

    public string ToJson() => JsonSerializer.Serialize(this);

    public static SyncEvent? FromJson(string json)
    {
        try
        {
            var parsed = JsonSerializer.Deserialize<SyncEvent>(json);
            return parsed is { JobId: not null, ProjectId: not null, Status: not null } ? parsed : null;
        }
        catch (JsonException)
        {
            return null;
        }
    }
}

/// <summary>
/// A file of the pod that a sync did not save, and why: a refused name, over the per-file or per-project byte limit.
/// The snapshot keeps the file's last saved version, if it had one; everything else of the tree is saved.
/// </summary>
public sealed record SkippedFile(
    [property: JsonPropertyName("path")] string Path,
    [property: JsonPropertyName("reason")] string Reason);
