using System.Net.Mime;
using Google.Cloud.Storage.V1;
using Microsoft.Extensions.Options;
using StoryDream.GoogleCloud.Storage;

namespace StoryDream.Api.Downloads;

/// <summary>
/// V4 signed Cloud Storage URLs for GET, made by the library's <see cref="UrlSigner"/>. In production the signer comes
/// from Application Default Credentials: on GKE those are the workload's service account, which has no private key, so
/// the library signs through IAM <c>signBlob</c> (the account needs <c>iam.serviceAccounts.signBlob</c> on itself).
/// </summary>
internal sealed class SignedDownloadLinks(UrlSigner signer, IOptions<StorageOptions> storage, IOptions<DownloadLinkOptions> options, TimeProvider time)
    : IDownloadLinks
{
    public async Task<DownloadLink> CreateAsync(string userId, string projectId, string objectName, string fileName, CancellationToken cancellationToken)
    {
        if (!DownloadLinkOptions.IsProjectAsset(projectId, objectName))
        {
            throw new ArgumentException($"'{objectName}' is not an asset of project {projectId}.", nameof(objectName));
        }
        // The library signs with its own clock (the URL's X-Goog-Date); read ours first so ExpiresAt is never later than the URL's.
        var lifetime = options.Value.LinkLifetime;
        var expiresAt = time.GetUtcNow() + lifetime;
        var template = UrlSigner.RequestTemplate.FromBucket(storage.Value.Bucket)
            .WithObjectName(objectName)
            .WithHttpMethod(HttpMethod.Get)
            .WithQueryParameters([new("response-content-disposition", [new ContentDisposition { FileName = fileName }.ToString()])]);
        var url = await signer.SignAsync(template, UrlSigner.Options.FromDuration(lifetime).WithSigningVersion(SigningVersion.V4), cancellationToken);
        return new DownloadLink(new Uri(url), expiresAt);
    }
}
