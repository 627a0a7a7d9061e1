using System.Buffers;
using System.Globalization;
using System.Net;
using System.Text.Json;
using Microsoft.Extensions.Options;

namespace StoryDream.GoogleCloud.Firestore;

/// <summary>
/// Firestore over its v1 REST API. Paths are relative to the database (<c>projects/abc</c>,
/// <c>projects/abc/messages/m1</c>); document data is any record, class or dictionary (see
/// <see cref="FirestoreValueMapper"/> for the mapping). Failures Firestore reports come as
/// <see cref="FirestoreException"/> carrying the status to branch on.
/// </summary>
public sealed partial class FirestoreClient
{
    private const string ProductionBaseUri = "https://firestore.googleapis.com/";
    private static readonly JsonReaderOptions ReaderOptions = new() { MaxDepth = 256 };

    private readonly HttpClient _http;
    private readonly string _databaseName;
    private readonly string _documentsName;
    private readonly string _documentsUri;

    public FirestoreClient(HttpClient http, IOptions<GoogleCloudOptions> options)
    {
        ArgumentNullException.ThrowIfNull(http);
        ArgumentNullException.ThrowIfNull(options);
        var settings = options.Value;
        ArgumentException.ThrowIfNullOrWhiteSpace(settings.ProjectId, "options.ProjectId");
        ArgumentException.ThrowIfNullOrWhiteSpace(settings.DatabaseId, "options.DatabaseId");
        if (settings.ProjectId.Contains('/', StringComparison.Ordinal) || settings.DatabaseId.Contains('/', StringComparison.Ordinal))
        {
            throw new ArgumentException("The project and database ids cannot contain '/'.", nameof(options));
        }

        Uri baseUri;
        if (settings.FirestoreEmulatorHost is { } host)
        {
            baseUri = TryGetEmulatorBaseUri(host, out var emulator)
                ? emulator
                : throw new ArgumentException($"The Firestore emulator host '{host}' is not host:port.", nameof(options));
        }
        else
        {
            baseUri = new Uri(ProductionBaseUri);
        }

        _http = http;
        _databaseName = $"projects/{settings.ProjectId}/databases/{settings.DatabaseId}";
        _documentsName = _databaseName + "/documents";
        _documentsUri = $"{baseUri}v1/projects/{Uri.EscapeDataString(settings.ProjectId)}/databases/{settings.DatabaseId}/documents";
        Mapper = new FirestoreValueMapper(_documentsName);
    }

    internal FirestoreValueMapper Mapper { get; }

    /// <summary>The document, or <c>null</c> when there is none at <paramref name="path"/>.</summary>
    public async Task<FirestoreDocument<T>?> GetAsync<T>(string path, CancellationToken cancellationToken = default)
    {
        ResourcePath.Document(path);
        var (status, body) = await SendCoreAsync(HttpMethod.Get, $"{_documentsUri}/{ResourcePath.Escape(path)}", null, cancellationToken);
        if (status == HttpStatusCode.NotFound)
        {
            var error = FirestoreException.FromResponse(status, body, $"get {path}");
            return error.Status == FirestoreStatus.NotFound ? null : throw error;
        }
        EnsureSuccess(status, body, $"get {path}");
        var reader = new Utf8JsonReader(body, ReaderOptions);
        reader.Read();
        var scratch = new ArrayBufferWriter<byte>(body.Length);
        using var scratchWriter = new Utf8JsonWriter(scratch);
        return Mapper.ReadDocument<T>(ref reader, scratch, scratchWriter);
    }

    /// <summary>Creates the document; fails with <see cref="FirestoreStatus.AlreadyExists"/> if it exists. Returns its update time.</summary>
    public async Task<DateTimeOffset> CreateAsync<T>(string path, T data, CancellationToken cancellationToken = default) where T : notnull =>
        UpdateTimeOf(await CommitAsync([Write.Create(path, data)], cancellationToken));

    /// <summary>Replaces the whole document, creating it if needed (unless <paramref name="precondition"/> says otherwise). Returns its update time.</summary>
    public async Task<DateTimeOffset> SetAsync<T>(string path, T data, Precondition? precondition = null, CancellationToken cancellationToken = default) where T : notnull =>
        UpdateTimeOf(await CommitAsync([With(Write.Set(path, data), precondition)], cancellationToken));

    /// <summary>
    /// Writes only the given fields (keys are field paths such as <c>videoSettings.width</c>; the update mask is
    /// exactly these keys). Like Firestore's PATCH it creates a missing document; pass
    /// <see cref="Precondition.MustExist"/> to refuse that. Returns the update time.
    /// </summary>
    public async Task<DateTimeOffset> PatchAsync(string path, IReadOnlyDictionary<string, object?> fields, Precondition? precondition = null, CancellationToken cancellationToken = default) =>
        UpdateTimeOf(await CommitAsync([With(Write.Patch(path, fields), precondition)], cancellationToken));

    /// <summary>Deletes the document; deleting a missing one succeeds unless <paramref name="precondition"/> requires it to exist.</summary>
    public Task DeleteAsync(string path, Precondition? precondition = null, CancellationToken cancellationToken = default) =>
        CommitAsync([With(Write.Delete(path), precondition)], cancellationToken);

    /// <summary>Reads several documents in one call; the result is in the order of <paramref name="paths"/>, <c>null</c> where a document is missing.</summary>
    public Task<IReadOnlyList<FirestoreDocument<T>?>> BatchGetAsync<T>(IEnumerable<string> paths, CancellationToken cancellationToken = default) =>
        BatchGetCoreAsync<T>(paths, null, cancellationToken);

    public Task<IReadOnlyList<FirestoreDocument<T>>> RunQueryAsync<T>(StructuredQuery query, CancellationToken cancellationToken = default) =>
        RunQueryCoreAsync<T>(query, null, cancellationToken);

    /// <summary>One page of a collection's documents in name order; pass the previous page's token to continue.</summary>
    public async Task<FirestorePage<T>> ListDocumentsAsync<T>(string collectionPath, int pageSize = 100, string? pageToken = null, CancellationToken cancellationToken = default)
    {
        ResourcePath.Collection(collectionPath);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(pageSize);
        var uri = $"{_documentsUri}/{ResourcePath.Escape(collectionPath)}?pageSize={pageSize.ToString(CultureInfo.InvariantCulture)}";
        if (!string.IsNullOrEmpty(pageToken))
        {
            uri += "&pageToken=" + Uri.EscapeDataString(pageToken);
        }
        var body = await SendAsync(HttpMethod.Get, uri, null, $"list {collectionPath}", cancellationToken);

        var documents = new List<FirestoreDocument<T>>();
        string? nextPageToken = null;
        var reader = new Utf8JsonReader(body, ReaderOptions);
        var scratch = new ArrayBufferWriter<byte>();
        using var scratchWriter = new Utf8JsonWriter(scratch);
        reader.Read();
        while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
        {
            if (reader.ValueTextEquals("documents"u8))
            {
                reader.Read();
                while (reader.Read() && reader.TokenType == JsonTokenType.StartObject)
                {
                    documents.Add(Mapper.ReadDocument<T>(ref reader, scratch, scratchWriter));
                }
            }
            else if (reader.ValueTextEquals("nextPageToken"u8))
            {
                reader.Read();
                nextPageToken = reader.GetString();
            }
            else
            {
                reader.Read();
                reader.Skip();
            }
        }
        return new FirestorePage<T>(documents, string.IsNullOrEmpty(nextPageToken) ? null : nextPageToken);
    }

    /// <summary>Applies all <paramref name="writes"/> atomically: all of them or, if any fails, none.</summary>
    public Task<CommitResult> CommitAsync(IEnumerable<Write> writes, CancellationToken cancellationToken = default) =>
        CommitCoreAsync(writes, null, cancellationToken);

    /// <summary>
    /// Starts a transaction. Prefer <see cref="RunTransactionAsync{T}"/>, which also retries it when Firestore aborts
    /// it for contention.
    /// </summary>
    public Task<FirestoreTransaction> BeginTransactionAsync(bool readOnly = false, CancellationToken cancellationToken = default) =>
        BeginTransactionCoreAsync(readOnly, null, cancellationToken);

    /// <summary>Accepts <c>host:port</c> (what <c>FIRESTORE_EMULATOR_HOST</c> holds) or <c>http://host:port</c>.</summary>
    internal static bool TryGetEmulatorBaseUri(string host, out Uri uri)
    {
        var text = host.Trim();
        if (text.StartsWith("http://", StringComparison.OrdinalIgnoreCase))
        {
            text = text["http://".Length..];
        }
        text = text.TrimEnd('/');
        if (text.Length > 0
            && !text.Contains('/', StringComparison.Ordinal)
            && !text.Contains('@', StringComparison.Ordinal)
            && Uri.TryCreate($"http://{text}/", UriKind.Absolute, out var parsed)
            && !parsed.IsDefaultPort
            && parsed.PathAndQuery == "/"
            && string.IsNullOrEmpty(parsed.Fragment))
        {
            uri = parsed;
            return true;
        }
        uri = null!;
        return false;
    }

    private static Write With(Write write, Precondition? precondition) => precondition is null ? write : write.WithPrecondition(precondition);

    private static DateTimeOffset UpdateTimeOf(CommitResult result) =>
        result.UpdateTimes is [{ } updateTime] ? updateTime : throw new JsonException("Firestore's commit answer lacks the write's update time.");
}
