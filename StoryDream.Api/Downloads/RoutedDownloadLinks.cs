using Microsoft.Extensions.Options;

namespace StoryDream.Api.Downloads;

/// <summary>
/// Links for the Storage emulator, which cannot check a signature: the same download served by
/// <see cref="DownloadsApi"/>, which checks the token and that the user still owns the project.
/// </summary>
internal sealed class RoutedDownloadLinks(DownloadTokens tokens, IOptions<DownloadLinkOptions> options, TimeProvider time) : IDownloadLinks
{
    public Task<DownloadLink> CreateAsync(string userId, string projectId, string objectName, string fileName, CancellationToken cancellationToken)
    {
        if (!DownloadLinkOptions.IsProjectAsset(projectId, objectName))
        {
            throw new ArgumentException($"'{objectName}' is not an asset of project {projectId}.", nameof(objectName));
        }
        var expiresAt = time.GetUtcNow() + options.Value.LinkLifetime;
        var token = tokens.Issue(userId, projectId, objectName, expiresAt);
        var url = $"/api/projects/{projectId}/downloads/{token}?name={Uri.EscapeDataString(fileName)}";
        return Task.FromResult(new DownloadLink(new Uri(url, UriKind.Relative), expiresAt));
    }
}
