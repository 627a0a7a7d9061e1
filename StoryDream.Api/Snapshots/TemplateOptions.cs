namespace StoryDream.Api.Snapshots;

/// <summary>
/// Where the project templates are on disk, bound from <c>Templates</c>: a folder with one folder per template id
/// (the repository's <c>templates/</c>, which the session pod uses too). Unset, the nearest <c>templates</c> folder
/// above the application (the repository in development and tests, the image's copy in production) is used.
/// </summary>
internal sealed class TemplateOptions
{
    public const string SectionName = "Templates";

    public string? Root { get; set; }

    public string ResolveRoot(string contentRoot)
    {
        if (!string.IsNullOrWhiteSpace(Root)) { return Path.GetFullPath(Root, contentRoot); }
        foreach (var start in new[] { contentRoot, AppContext.BaseDirectory })
        {
            for (var dir = new DirectoryInfo(start); dir is not null; dir = dir.Parent)
            {
                var candidate = Path.Combine(dir.FullName, "templates");
                if (Directory.Exists(Path.Combine(candidate, TemplateCatalog.DefaultTemplateId))) { return candidate; }
            }
        }
        throw new InvalidOperationException(
            $"No templates/{TemplateCatalog.DefaultTemplateId} folder above {contentRoot} or {AppContext.BaseDirectory}: set Templates:Root.");
    }
}
