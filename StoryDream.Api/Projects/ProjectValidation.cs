using StoryDream.Api.Http;

namespace StoryDream.Api.Projects;

/// <summary>The field rules of projects; errors are keyed by the JSON names clients send.</summary>
internal static class ProjectValidation
{
    public const int MaxNameLength = 100;
    public const int MaxDescriptionLength = 2000;

    private static readonly (string Field, int Min, int Max)[] Limits =
    [
        ("width", 16, 7680),
        ("height", 16, 7680),
        ("fps", 1, 120),
        ("durationInFrames", 1, 108_000),
    ];

    public static string? Name(string? name, bool required, ValidationErrors errors)
    {
        if (name is null)
        {
            if (required) { errors.Add("name", "name is required."); }
            return null;
        }
        var trimmed = name.Trim();
        if (trimmed.Length is < 1 or > MaxNameLength || trimmed.Any(char.IsControl))
        {
            errors.Add("name", $"name must be 1 to {MaxNameLength} characters, without control characters.");
            return null;
        }
        return trimmed;
    }

    public static string? Description(string? description, ValidationErrors errors)
    {
        if (description is null) { return null; }
        if (description.Length > MaxDescriptionLength)
        {
            errors.Add("description", $"description must be at most {MaxDescriptionLength} characters.");
            return null;
        }
        return description.Trim();
    }

    /// <summary>The settings with <paramref name="input"/>'s fields applied over <paramref name="current"/>.</summary>
    public static VideoSettings? VideoSettings(VideoSettingsInput? input, VideoSettings current, ValidationErrors errors)
    {
        if (input is null) { return null; }
        int?[] values = [input.Width, input.Height, input.Fps, input.DurationInFrames];
        var valid = true;
        for (var i = 0; i < Limits.Length; i++)
        {
            var (field, min, max) = Limits[i];
            if (values[i] is { } value && (value < min || value > max))
            {
                errors.Add($"videoSettings.{field}", $"videoSettings.{field} must be from {min} to {max}.");
                valid = false;
            }
        }
        return valid
            ? new VideoSettings(input.Width ?? current.Width, input.Height ?? current.Height, input.Fps ?? current.Fps, input.DurationInFrames ?? current.DurationInFrames)
            : null;
    }
}
