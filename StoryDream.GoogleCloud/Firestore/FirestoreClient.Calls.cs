using System.Buffers;
using System.Net;
using System.Net.Http.Headers;
using System.Text.Json;

namespace StoryDream.GoogleCloud.Firestore;

/// <summary>The REST calls behind the public operations, shared with <see cref="FirestoreTransaction"/>, and the HTTP plumbing.</summary>
public sealed partial class FirestoreClient
{
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
        var transformTimes = new List<IReadOnlyList<DateTimeOffset?>>();
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
                    IReadOnlyList<DateTimeOffset?> transformed = [];
                    while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
                    {
                        if (reader.ValueTextEquals("updateTime"u8))
                        {
                            reader.Read();
                            updateTime = FirestoreValueMapper.ReadTimestamp(ref reader);
                        }
                        else if (reader.ValueTextEquals("transformResults"u8))
                        {
                            reader.Read();
                            transformed = ReadTransformTimes(ref reader);
                        }
                        else
                        {
                            reader.Read();
                            reader.Skip();
                        }
                    }
                    updateTimes.Add(updateTime);
                    transformTimes.Add(transformed);
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
        return new CommitResult(commitTime, updateTimes, transformTimes);
    }

    /// <summary>A write's <c>transformResults</c>, an array of <c>Value</c>s: the timestamps, and null for any other value.</summary>
    private static List<DateTimeOffset?> ReadTransformTimes(ref Utf8JsonReader reader)
    {
        var times = new List<DateTimeOffset?>();
        if (reader.TokenType != JsonTokenType.StartArray)
        {
            reader.Skip();
            return times;
        }
        while (reader.Read() && reader.TokenType == JsonTokenType.StartObject)
        {
            DateTimeOffset? time = null;
            while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
            {
                var isTimestamp = reader.ValueTextEquals("timestampValue"u8);
                reader.Read();
                if (isTimestamp)
                {
                    time = FirestoreValueMapper.ReadTimestamp(ref reader);
                }
                else
                {
                    reader.Skip();
                }
            }
            times.Add(time);
        }
        return times;
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
