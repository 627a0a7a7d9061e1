namespace StoryDream.Api.Downloads;

/// <summary>
/// Short-lived links that let a browser download one of a project's objects (<c>assets/{projectId}/…</c>) without our
/// credentials and, in production, without the bytes passing through our services. Issue one only after checking that
/// the user owns the project; the link is bound to the user, the project, the object and GET. The file name is what
/// the browser saves it as.
/// </summary>
internal interface IDownloadLinks
{
    Task<DownloadLink> CreateAsync(string userId, string projectId, string objectName, string fileName, CancellationToken cancellationToken);
}

/// <summary>A download link: absolute (a signed Cloud Storage URL) or relative to the API's origin (the emulator's route).</summary>
internal sealed record DownloadLink(Uri Url, DateTimeOffset ExpiresAt);
