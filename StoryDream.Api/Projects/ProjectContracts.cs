namespace StoryDream.Api.Projects;

public sealed record VideoSettingsInput(int? Width, int? Height, int? Fps, int? DurationInFrames);

public sealed record CreateProjectRequest(string? Name, string? Description, string? TemplateId, VideoSettingsInput? VideoSettings);

/// <summary>A partial update: only the fields present change. An empty description clears it.</summary>
public sealed record UpdateProjectRequest(string? Name, string? Description, VideoSettingsInput? VideoSettings);

public sealed record VideoSettingsResponse(int Width, int Height, int Fps, int DurationInFrames);

public sealed record ProjectResponse(
    string Id,
    string Name,
    string? Description,
    string? TemplateId,
    string HeadSnapshotId,
    VideoSettingsResponse VideoSettings,
    DateTimeOffset CreatedAt,
    DateTimeOffset UpdatedAt,
    DateTimeOffset? LastOpenedAt)
{
    internal static ProjectResponse From(Project project) => new(
        project.Id, project.Name, project.Description, project.TemplateId, project.HeadSnapshotId,
        new VideoSettingsResponse(project.VideoSettings.Width, project.VideoSettings.Height, project.VideoSettings.Fps, project.VideoSettings.DurationInFrames),
        project.CreatedAt, project.UpdatedAt, project.LastOpenedAt);
}
