using System.Buffers;
using System.Globalization;
using System.Net;
using System.Net.Http.Headers;
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

    internal async Task<FirestoreTransaction> BeginTransactionCoreAsync(bool readOnly, string? retryOf, CancellationToken cancellationToken)
    {
        var buffer = new ArrayBufferWriter<byte>(128);
        using (var writer = new Utf8JsonWriter(buffer))
        {
            writer.WriteStartObject();
            writer.WriteStartObject("options");
            if (readOnly)
            {
                writer.WriteStartObject("readOnly");
                writer.WriteEndObject();
            }
            else
            {
                writer.WriteStartObject("readWrite");
                if (retryOf is not null)
                {
                    writer.WriteString("retryTransaction", retryOf);
                }
                writer.WriteEndObject();
            }
            writer.WriteEndObject();
            writer.WriteEndObject();
        }
        var body = await SendAsync(HttpMethod.Post, _documentsUri + ":beginTransaction", buffer, "beginTransaction", cancellationToken);
        using var document = JsonDocument.Parse(body);
        var id = document.RootElement.TryGetProperty("transaction", out var transaction) ? transaction.GetString() : null;
        return string.IsNullOrEmpty(id)
            ? throw new JsonException("Firestore began a transaction but returned no id.")
            : new FirestoreTransaction(this, id, readOnly);
    }

    internal async Task RollbackCoreAsync(string transactionId, CancellationToken cancellationToken)
    {
        var buffer = new ArrayBufferWriter<byte>(64);
        using (var writer = new Utf8JsonWriter(buffer))
        {
            writer.WriteStartObject();
            writer.WriteString("transaction", transactionId);
            writer.WriteEndObject();
        }
        await SendAsync(HttpMethod.Post, _documentsUri + ":rollback", buffer, "rollback", cancellationToken);
    }

    internal async Task<CommitResult> CommitCoreAsync(IEnumerable<Write> writes, string? transactionId, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(writes);
        var buffer = new ArrayBufferWriter<byte>(512);
        using (var writer = new Utf8JsonWriter(buffer))
        {
            writer.WriteStartObject();
            writer.WriteStartArray("writes");
            foreach (var write in writes)
            {
                ArgumentNullException.ThrowIfNull(write, nameof(writes));
                WriteWrite(writer, write);
            }
            writer.WriteEndArray();
            if (transactionId is not null)
            {
                writer.WriteString("transaction", transactionId);
            }
            writer.WriteEndObject();
        }
        var body = await SendAsync(HttpMethod.Post, _documentsUri + ":commit", buffer, "commit", cancellationToken);

        var reader = new Utf8JsonReader(body, ReaderOptions);
        var updateTimes = new List<DateTimeOffset?>();
        DateTimeOffset commitTime = default;
        reader.Read();
        while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
        {
            if (reader.ValueTextEquals("writeResults"u8))
            {
                reader.Read();
                while (reader.Read() && reader.TokenType == JsonTokenType.StartObject)
                {
                    DateTimeOffset? updateTime = null;
                    while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
                    {
                        var isUpdateTime = reader.ValueTextEquals("updateTime"u8);
                        reader.Read();
                        if (isUpdateTime)
                        {
                            updateTime = FirestoreValueMapper.ReadTimestamp(ref reader);
                        }
                        else
                        {
                            reader.Skip();
                        }
                    }
                    updateTimes.Add(updateTime);
                }
            }
            else if (reader.ValueTextEquals("commitTime"u8))
            {
                reader.Read();
                commitTime = FirestoreValueMapper.ReadTimestamp(ref reader);
            }
            else
            {
                reader.Read();
                reader.Skip();
            }
        }
        return new CommitResult(commitTime, updateTimes);
    }

    internal async Task<IReadOnlyList<FirestoreDocument<T>?>> BatchGetCoreAsync<T>(IEnumerable<string> paths, string? transactionId, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(paths);
        var requested = paths.Select(path => ResourcePath.Document(path, nameof(paths))).ToList();
        if (requested.Count == 0)
        {
            return [];
        }
        var buffer = new ArrayBufferWriter<byte>(256);
        using (var writer = new Utf8JsonWriter(buffer))
        {
            writer.WriteStartObject();
            writer.WriteStartArray("documents");
            foreach (var path in requested.Distinct(StringComparer.Ordinal))
            {
                writer.WriteStringValue($"{_documentsName}/{path}");
            }
            writer.WriteEndArray();
            if (transactionId is not null)
            {
                writer.WriteString("transaction", transactionId);
            }
            writer.WriteEndObject();
        }
        var body = await SendAsync(HttpMethod.Post, _documentsUri + ":batchGet", buffer, "batchGet", cancellationToken);

        // Firestore answers in no particular order; match the answers back to the request.
        var found = new Dictionary<string, FirestoreDocument<T>>(StringComparer.Ordinal);
        var reader = new Utf8JsonReader(body, ReaderOptions);
        var scratch = new ArrayBufferWriter<byte>();
        using var scratchWriter = new Utf8JsonWriter(scratch);
        reader.Read();
        while (reader.Read() && reader.TokenType == JsonTokenType.StartObject)
        {
            while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
            {
                var isFound = reader.ValueTextEquals("found"u8);
                reader.Read();
                if (isFound)
                {
                    var document = Mapper.ReadDocument<T>(ref reader, scratch, scratchWriter);
                    found[document.Path] = document;
                }
                else
                {
                    reader.Skip();
                }
            }
        }
        return [.. requested.Select(path => found.GetValueOrDefault(path))];
    }

    internal async Task<IReadOnlyList<FirestoreDocument<T>>> RunQueryCoreAsync<T>(StructuredQuery query, string? transactionId, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(query);
        var buffer = new ArrayBufferWriter<byte>(512);
        using (var writer = new Utf8JsonWriter(buffer))
        {
            writer.WriteStartObject();
            WriteQuery(writer, query);
            if (transactionId is not null)
            {
                writer.WriteString("transaction", transactionId);
            }
            writer.WriteEndObject();
        }
        var uri = query.Parent is null ? _documentsUri + ":runQuery" : $"{_documentsUri}/{ResourcePath.Escape(query.Parent)}:runQuery";
        var body = await SendAsync(HttpMethod.Post, uri, buffer, "runQuery", cancellationToken);

        var documents = new List<FirestoreDocument<T>>();
        var reader = new Utf8JsonReader(body, ReaderOptions);
        var scratch = new ArrayBufferWriter<byte>();
        using var scratchWriter = new Utf8JsonWriter(scratch);
        reader.Read();
        while (reader.Read() && reader.TokenType == JsonTokenType.StartObject)
        {
            while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
            {
                var isDocument = reader.ValueTextEquals("document"u8);
                reader.Read();
                if (isDocument)
                {
                    documents.Add(Mapper.ReadDocument<T>(ref reader, scratch, scratchWriter));
                }
                else
                {
                    reader.Skip();
                }
            }
        }
        return documents;
    }

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

    private async Task<byte[]> SendAsync(HttpMethod method, string uri, ArrayBufferWriter<byte>? content, string operation, CancellationToken cancellationToken)
    {
        var (status, body) = await SendCoreAsync(method, uri, content, cancellationToken);
        EnsureSuccess(status, body, operation);
        return body;
    }

    private async Task<(HttpStatusCode Status, byte[] Body)> SendCoreAsync(HttpMethod method, string uri, ArrayBufferWriter<byte>? content, CancellationToken cancellationToken)
    {
        using var request = new HttpRequestMessage(method, uri);
        if (content is not null)
        {
            request.Content = new ReadOnlyMemoryContent(content.WrittenMemory);
            request.Content.Headers.ContentType = new MediaTypeHeaderValue("application/json");
        }
        using var response = await _http.SendAsync(request, HttpCompletionOption.ResponseContentRead, cancellationToken);
        var body = await response.Content.ReadAsByteArrayAsync(cancellationToken);
        return (response.StatusCode, body);
    }

    private static void EnsureSuccess(HttpStatusCode status, byte[] body, string operation)
    {
        if ((int)status is < 200 or > 299)
        {
            throw FirestoreException.FromResponse(status, body, operation);
        }
    }
}
