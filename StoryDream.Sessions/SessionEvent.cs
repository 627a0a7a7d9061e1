using System.Text.Json;
using System.Text.Json.Serialization;

namespace StoryDream.Sessions;

/// <summary>A message on the <c>session-events</c> channel: <c>{type: created|ready|destroyed, sessionId, projectId}</c>.</summary>
public sealed record SessionEvent(
    [property: JsonPropertyName("type")] string Type,
    [property: JsonPropertyName("sessionId")] string SessionId,
    [property: JsonPropertyName("projectId")] string ProjectId)
{
    public const string Created = "created";
    public const string Ready = "ready";
    public const string Destroyed = "destroyed";

    public string ToJson() => JsonSerializer.Serialize(this);

    public static SessionEvent? FromJson(string json)
    {
        try
        {
            var parsed = JsonSerializer.Deserialize<SessionEvent>(json);
            return parsed is { Type: not null, SessionId: not null, ProjectId: not null } ? parsed : null;
        }
        catch (JsonException)
        {
            return null;
        }
    }
}
