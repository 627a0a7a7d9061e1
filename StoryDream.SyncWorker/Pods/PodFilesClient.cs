using System.Net;
using System.Net.Http.Headers;
using System.Text.Json;
using System.Text.Json.Serialization;
using Microsoft.Extensions.Options;
using StoryDream.Sessions;
using StoryDream.Snapshots;

namespace StoryDream.SyncWorker.Pods;

/// <summary>
/// The pod's file API (DESIGN section 5) as the sync worker uses it. A pod runs code the agent wrote, so everything it
/// answers is checked as hostile input: manifests against the path rules and limits, tars by <see cref="PodTarReader"/>.
/// </summary>
internal sealed partial class PodFilesClient(HttpClient http, IOptions<SyncWorkerOptions> options, ILogger<PodFilesClient> logger)
{
    private const string TarMediaType = "application/x-tar";
    // A manifest line is a path of at most 1 KiB plus a hash and a size; anything beyond this bound is not a manifest.
    private const long ManifestBytesPerFile = 1024 + 256;

    private readonly SyncWorkerOptions _options = options.Value;

    /// <summary>Skipped files named in one sync's event at most; the count of the rest is logged.</summary>
    internal const int MaxReportedSkips = 100;

    /// <summary>
    /// Whether the pod at the session's address proves it is the session's pod; null when it does, else why not. Asked
    /// before every sync and hydrate, with nothing sent that a stranger could use (<see cref="PodIdentity"/>).
    /// </summary>
    public Task<string?> VerifyIdentityAsync(SessionRecord session, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(session);
        return VerifyIdentityAsync(session.SessionId, new PodTarget(session.FilesUrl, session.PodSecret ?? ""), cancellationToken);
    }

    /// <summary>The same for a render pod, which proves it is the pod started for <paramref name="podId"/>.</summary>
    public Task<string?> VerifyIdentityAsync(string podId, PodTarget pod, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(pod);
        return WithDeadlineAsync(pod, async token =>
        {
            try
            {
                return await PodIdentity.VerifyAsync(http, pod.FilesUrl, podId, pod.PodSecret, token);
            }
            catch (HttpRequestException e)
            {
                throw new PodUnavailableException($"The pod's file API at {pod.FilesUrl} is unreachable: {e.Message}", e);
            }
        }, cancellationToken);
    }

    /// <summary>
    /// The pod's tree, validated: hashes, sizes, the file-count limit, no duplicates. Files with a refused name or over
    /// the per-file limit are left out and listed with the pod's own list of what it left out, so the rest still syncs.
    /// </summary>
    public Task<PodTree> GetManifestAsync(PodTarget pod, CancellationToken cancellationToken) =>
        WithDeadlineAsync(pod, token => GetManifestCoreAsync(pod, token), cancellationToken);

    private async Task<PodTree> GetManifestCoreAsync(PodTarget pod, CancellationToken cancellationToken)
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, Combine(pod.FilesUrl, "files/manifest"));
        using var response = await SendAsync(pod, request, HttpCompletionOption.ResponseHeadersRead, cancellationToken);
        var maxBytes = (_options.MaxFiles + 16) * ManifestBytesPerFile;
        if (response.Content.Headers.ContentLength > maxBytes)
        {
            throw new SyncRefusedException($"The pod's manifest is {response.Content.Headers.ContentLength} bytes, more than {_options.MaxFiles} files can take.");
        }
        var body = await ReadBoundedAsync(response.Content, maxBytes, cancellationToken);
        PodManifest? parsed;
        try
        {
            parsed = JsonSerializer.Deserialize(body, PodJsonContext.Default.PodManifest);
        }
        catch (JsonException e)
        {
            throw new SyncRefusedException($"The pod's manifest is not valid JSON: {e.Message}", e);
        }
        if (parsed?.Files is not { } files)
        {
            throw new SyncRefusedException("The pod's manifest has no 'files' array.");
        }
        var tree = ValidateManifest(files, _options.MaxFiles, _options.MaxFileBytes);
        // The pod leaves out what it will not serve (bad names, files over its limit, links leading out of a root).
        var fromPod = (parsed.Skipped ?? []).OfType<PodSkippedEntry>()
            .Select(s => new SkippedFile(PodTarReader.Printable(s.Path ?? "?"), PodTarReader.Printable(s.Reason ?? "left out by the pod")));
        var skipped = tree.Skipped.Concat(fromPod).DistinctBy(s => s.Path, StringComparer.Ordinal).ToList();
        if (skipped.Count > 0)
        {
            LogSkipped(skipped.Count, PodTarReader.Printable(string.Join(", ", skipped.Take(5).Select(s => $"{s.Path} ({s.Reason})"))));
        }
        return tree with { Skipped = [.. skipped.Take(MaxReportedSkips)] };
    }

    /// <summary>
    /// Checks a manifest a pod sent against the path rules and the limits. A malformed manifest is refused with an error
    /// that names the offending entry; a file with a refused name or over the size limit is only left out, with the reason.
    /// </summary>
    internal static PodTree ValidateManifest(IReadOnlyList<PodManifestEntry?> files, int maxFiles, long maxFileBytes)
    {
        if (files.Count > maxFiles)
        {
            throw new SyncRefusedException($"The pod holds {files.Count} files; the limit is {maxFiles} files per project.");
        }
        var entries = new List<ManifestEntry>(files.Count);
        var skipped = new List<SkippedFile>();
        foreach (var file in files)
        {
            if (file is not { Path: { } path, Sha256: { } sha256, Size: { } size })
            {
                throw new SyncRefusedException("The pod's manifest has an entry without path, sha256 or size.");
            }
            if (SnapshotPath.Problem(path) is { } problem)
            {
                skipped.Add(new SkippedFile(PodTarReader.Printable(path), problem));
                continue;
            }
            if (size > maxFileBytes)
            {
                skipped.Add(new SkippedFile(path, $"The file is {size} bytes; the limit is {maxFileBytes} bytes per file."));
                continue;
            }
            entries.Add(new ManifestEntry(path, sha256, size));
        }
        try
        {
            return new PodTree(SnapshotManifest.Create(entries), skipped);
        }
        catch (InvalidManifestException e)
        {
            throw new SyncRefusedException($"The pod's manifest is invalid: {e.Message}", e);
        }
    }

    /// <summary>Fetches <paramref name="files"/> in one tar request and hands each verified file to <paramref name="onFile"/>.</summary>
    public Task ReadFilesAsync(PodTarget pod, IReadOnlyCollection<ManifestEntry> files, Func<ManifestEntry, byte[], CancellationToken, Task> onFile, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(files);
        return files.Count == 0 ? Task.CompletedTask
            : WithDeadlineAsync(pod, token => ReadFilesCoreAsync(pod, files, onFile, token), cancellationToken);
    }

    private async Task ReadFilesCoreAsync(PodTarget pod, IReadOnlyCollection<ManifestEntry> files, Func<ManifestEntry, byte[], CancellationToken, Task> onFile, CancellationToken cancellationToken)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, Combine(pod.FilesUrl, "files/read"))
        {
            Content = JsonContent.Create(new PathsRequest([.. files.Select(f => f.Path)]), PodJsonContext.Default.PathsRequest),
        };
        using var response = await SendAsync(pod, request, HttpCompletionOption.ResponseHeadersRead, cancellationToken);
        await using var tar = await response.Content.ReadAsStreamAsync(cancellationToken);
        try
        {
            await PodTarReader.ReadAsync(tar, files, _options.MaxFileBytes, onFile, cancellationToken);
        }
        catch (Exception e) when (e is IOException or HttpRequestException)
        {
            throw new PodUnavailableException($"Reading files from the pod at {pod.FilesUrl} broke off: {e.Message}", e);
        }
    }

    /// <summary>Writes files into the pod (hydrate): one streamed tar, which the pod applies whole or not at all.</summary>
    public Task WriteFilesAsync(PodTarget pod, IAsyncEnumerable<(ManifestEntry Entry, byte[] Content)> files, CancellationToken cancellationToken) =>
        WithDeadlineAsync(pod, async token =>
        {
            using var request = new HttpRequestMessage(HttpMethod.Put, Combine(pod.FilesUrl, "files")) { Content = new PodTarContent(files) };
            request.Content.Headers.ContentType = new(TarMediaType);
            using var response = await SendAsync(pod, request, HttpCompletionOption.ResponseContentRead, token);
        }, cancellationToken);

    public Task DeleteFilesAsync(PodTarget pod, IReadOnlyCollection<string> paths, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(paths);
        return paths.Count == 0 ? Task.CompletedTask : WithDeadlineAsync(pod, async token =>
        {
            using var request = new HttpRequestMessage(HttpMethod.Post, Combine(pod.FilesUrl, "files/delete"))
            {
                Content = JsonContent.Create(new PathsRequest([.. paths]), PodJsonContext.Default.PathsRequest),
            };
            using var response = await SendAsync(pod, request, HttpCompletionOption.ResponseContentRead, token);
        }, cancellationToken);
    }

    /// <summary>
    /// Bounds a whole exchange, body included: <see cref="HttpClient.Timeout"/> stops at the headers of a streamed answer,
    /// and a pod that trickles a tar forever would otherwise hold its project's lock forever.
    /// </summary>
    private async Task WithDeadlineAsync(PodTarget pod, Func<CancellationToken, Task> call, CancellationToken cancellationToken)
    {
        using var deadline = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        deadline.CancelAfter(_options.PodRequestTimeout);
        try
        {
            await call(deadline.Token);
        }
        catch (OperationCanceledException e) when (deadline.IsCancellationRequested && !cancellationToken.IsCancellationRequested)
        {
            throw new PodUnavailableException($"The pod's file API at {pod.FilesUrl} did not finish within {_options.PodRequestTimeout}.", e);
        }
    }

    private async Task<T> WithDeadlineAsync<T>(PodTarget pod, Func<CancellationToken, Task<T>> call, CancellationToken cancellationToken)
    {
        T result = default!;
        // A statement body: an expression lambda would return T and bind to this very overload.
        await WithDeadlineAsync(pod, async token => { result = await call(token); }, cancellationToken);
        return result;
    }

    private async Task<HttpResponseMessage> SendAsync(PodTarget pod, HttpRequestMessage request, HttpCompletionOption completion, CancellationToken cancellationToken)
    {
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", pod.PodSecret);
        HttpResponseMessage response;
        try
        {
            response = await http.SendAsync(request, completion, cancellationToken);
        }
        catch (HttpRequestException e)
        {
            throw new PodUnavailableException($"The pod's file API at {request.RequestUri} is unreachable: {e.Message}", e);
        }
        catch (TaskCanceledException e) when (!cancellationToken.IsCancellationRequested)
        {
            throw new PodUnavailableException($"The pod's file API at {request.RequestUri} did not answer in time.", e);
        }
        if (response.IsSuccessStatusCode) { return response; }

        using (response)
        {
            var detail = await ReadProblemAsync(response, cancellationToken);
            var message = $"{request.Method} {request.RequestUri} answered {(int)response.StatusCode}: {detail}";
            if ((int)response.StatusCode >= 500 || response.StatusCode is HttpStatusCode.RequestTimeout or HttpStatusCode.TooManyRequests)
            {
                throw new PodUnavailableException(message);
            }
            if (response.StatusCode == HttpStatusCode.NotFound && request.Method == HttpMethod.Post && request.RequestUri!.AbsolutePath.EndsWith("/files/read", StringComparison.Ordinal))
            {
                // A file listed in the manifest was deleted before the read: the tree moved under us, try again.
                throw new ContentChangedException(message);
            }
            throw new SyncRefusedException($"The pod refused the request: {message}");
        }
    }

    private static async Task<string> ReadProblemAsync(HttpResponseMessage response, CancellationToken cancellationToken)
    {
        try
        {
            var body = await ReadBoundedAsync(response.Content, 16 * 1024, cancellationToken);
            var problem = JsonSerializer.Deserialize(body, PodJsonContext.Default.PodProblem);
            return PodTarReader.Printable(problem?.Detail ?? problem?.Title ?? "no detail");
        }
        catch (Exception e) when (e is JsonException or SyncRefusedException or IOException)
        {
            return "no readable detail";
        }
    }

    private static async Task<byte[]> ReadBoundedAsync(HttpContent content, long maxBytes, CancellationToken cancellationToken)
    {
        await using var stream = await content.ReadAsStreamAsync(cancellationToken);
        using var buffer = new MemoryStream();
        var chunk = new byte[64 * 1024];
        int read;
        while ((read = await stream.ReadAsync(chunk, cancellationToken)) > 0)
        {
            if (buffer.Length + read > maxBytes)
            {
                throw new SyncRefusedException($"The pod's answer is longer than {maxBytes} bytes.");
            }
            buffer.Write(chunk, 0, read);
        }
        return buffer.ToArray();
    }

    private static Uri Combine(Uri filesUrl, string relative)
    {
        var text = filesUrl.ToString();
        return new Uri(text.EndsWith('/') ? text + relative : text + "/" + relative);
    }

    [LoggerMessage(EventId = 1, Level = LogLevel.Warning, Message = "The pod left {Count} entries out of its manifest, which are not synced: {Examples}")]
    private partial void LogSkipped(int count, string examples);
}

/// <summary>The pod's tree as it will be saved, and the files left out of it with the reason.</summary>
internal sealed record PodTree(SnapshotManifest Manifest, IReadOnlyList<SkippedFile> Skipped);

/// <summary>A session's pod as the sync worker calls it: where its file API is, and the secret it wants on every request.</summary>
internal sealed record PodTarget(Uri FilesUrl, string PodSecret)
{
    // The secret stays out of logs and exception messages that print the target.
    public override string ToString() => FilesUrl.ToString();
}

internal sealed record PodManifest(
    [property: JsonPropertyName("files")] List<PodManifestEntry?>? Files,
    [property: JsonPropertyName("skipped")] List<PodSkippedEntry?>? Skipped);

internal sealed record PodManifestEntry(
    [property: JsonPropertyName("path")] string? Path,
    [property: JsonPropertyName("sha256")] string? Sha256,
    [property: JsonPropertyName("size")] long? Size);

internal sealed record PodSkippedEntry(
    [property: JsonPropertyName("path")] string? Path,
    [property: JsonPropertyName("reason")] string? Reason);

internal sealed record PathsRequest([property: JsonPropertyName("paths")] string[] Paths);

internal sealed record PodProblem(
    [property: JsonPropertyName("title")] string? Title,
    [property: JsonPropertyName("detail")] string? Detail);

[JsonSerializable(typeof(PodManifest))]
[JsonSerializable(typeof(PathsRequest))]
[JsonSerializable(typeof(PodProblem))]
internal sealed partial class PodJsonContext : JsonSerializerContext;
