using System.Globalization;
using System.Text;

namespace GoogleCloudBench.HandWritten;

/// <summary>
/// Builds JSON API addresses. Bucket and object names are validated (Cloud Storage's naming rules) and
/// escaped as one path segment each, so <c>/</c>, spaces, <c>..</c> and non-ASCII names reach the service intact.
/// </summary>
internal sealed class StorageUris
{
    private const int MaxObjectNameBytes = 1024;
    private static readonly UTF8Encoding StrictUtf8 = new(encoderShouldEmitUTF8Identifier: false, throwOnInvalidBytes: true);

    private StorageUris(Uri jsonRoot, Uri uploadRoot)
    {
        JsonRoot = jsonRoot;
        UploadRoot = uploadRoot;
    }

    public Uri JsonRoot { get; }
    public Uri UploadRoot { get; }

    /// <summary>
    /// The JSON API under <c>{root}/storage/v1/</c>, uploads under <c>{root}/upload/storage/v1/</c>; the root is the
    /// emulator when one is configured, otherwise <paramref name="endpoint"/>.
    /// </summary>
    public static StorageUris Create(Uri endpoint, string? emulatorHost)
    {
        ArgumentNullException.ThrowIfNull(endpoint);
        var root = string.IsNullOrWhiteSpace(emulatorHost)
            ? (endpoint.AbsoluteUri.EndsWith('/') ? endpoint : new Uri(endpoint.AbsoluteUri + "/"))
            : ParseEmulatorHost(emulatorHost);
        return new StorageUris(new Uri(root, "storage/v1/"), new Uri(root, "upload/storage/v1/"));
    }

    public static bool TryParseEmulatorHost(string? emulatorHost, out Uri? root)
    {
        root = null;
        if (string.IsNullOrWhiteSpace(emulatorHost))
        {
            return true;
        }
        try
        {
            root = ParseEmulatorHost(emulatorHost);
            return true;
        }
        catch (ArgumentException)
        {
            return false;
        }
    }

    public static Uri ParseEmulatorHost(string emulatorHost)
    {
        var text = emulatorHost.Trim();
        if (!text.Contains("://", StringComparison.Ordinal))
        {
            text = "http://" + text;
        }
        if (!Uri.TryCreate(text, UriKind.Absolute, out var uri) || (uri.Scheme != Uri.UriSchemeHttp && uri.Scheme != Uri.UriSchemeHttps)
            || !string.IsNullOrEmpty(uri.Query))
        {
            throw new ArgumentException($"The Storage emulator host '{emulatorHost}' is not host:port or an http(s) URL.", nameof(emulatorHost));
        }
        return new Uri(uri.GetLeftPart(UriPartial.Path).TrimEnd('/') + "/");
    }

    public Uri Object(string bucket, string name, string? query = null) =>
        Build(JsonRoot, $"b/{Bucket(bucket)}/o/{ObjectName(name)}", query);

    public Uri Objects(string bucket, string? query = null) => Build(JsonRoot, $"b/{Bucket(bucket)}/o", query);

    public Uri Upload(string bucket, string query) => Build(UploadRoot, $"b/{Bucket(bucket)}/o", query);

    public Uri Rewrite(string sourceBucket, string sourceName, string destinationBucket, string destinationName, string? query) =>
        Build(JsonRoot, $"b/{Bucket(sourceBucket)}/o/{ObjectName(sourceName)}/rewriteTo/b/{Bucket(destinationBucket)}/o/{ObjectName(destinationName)}", query);

    /// <summary>Builds <c>a=b&amp;c=d</c> from the pairs whose value is not null, escaping each value.</summary>
    public static string Query(params ReadOnlySpan<(string Name, string? Value)> parameters)
    {
        var builder = new StringBuilder();
        foreach (var (name, value) in parameters)
        {
            if (value is null)
            {
                continue;
            }
            builder.Append(builder.Length == 0 ? "" : "&").Append(name).Append('=').Append(Uri.EscapeDataString(value));
        }
        return builder.ToString();
    }

    public static string? Number(long? value) => value?.ToString(CultureInfo.InvariantCulture);

    internal static string Bucket(string bucket)
    {
        ArgumentException.ThrowIfNullOrEmpty(bucket);
        // Bucket names: 3-222 characters of lower-case letters, digits, '-', '_' and '.'.
        if (bucket.Length is < 3 or > 222 || !bucket.All(c => c is (>= 'a' and <= 'z') or (>= '0' and <= '9') or '-' or '_' or '.')
            || !char.IsAsciiLetterOrDigit(bucket[0]) || !char.IsAsciiLetterOrDigit(bucket[^1]))
        {
            throw new ArgumentException($"'{bucket}' is not a valid Cloud Storage bucket name.", nameof(bucket));
        }
        return bucket;
    }

    internal static string ObjectName(string name)
    {
        ArgumentException.ThrowIfNullOrEmpty(name);
        // Cloud Storage refuses these; "." and ".." would also be removed as dot segments by URI normalization.
        if (name is "." or ".." || name.StartsWith(".well-known/acme-challenge/", StringComparison.Ordinal)
            || name.Contains('\r', StringComparison.Ordinal) || name.Contains('\n', StringComparison.Ordinal))
        {
            throw new ArgumentException($"'{name}' is not a valid Cloud Storage object name.", nameof(name));
        }
        int bytes;
        try
        {
            bytes = StrictUtf8.GetByteCount(name);
        }
        catch (EncoderFallbackException exception)
        {
            throw new ArgumentException("The object name is not valid Unicode.", nameof(name), exception);
        }
        if (bytes > MaxObjectNameBytes)
        {
            throw new ArgumentException($"Object names are at most {MaxObjectNameBytes} bytes of UTF-8.", nameof(name));
        }
        return Uri.EscapeDataString(name);
    }

    private static Uri Build(Uri root, string path, string? query) =>
        new(root, string.IsNullOrEmpty(query) ? path : path + "?" + query);
}
