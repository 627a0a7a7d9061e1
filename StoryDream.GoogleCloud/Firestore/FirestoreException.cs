using System.Net;
using System.Text.Json;

namespace StoryDream.GoogleCloud.Firestore;

/// <summary>The canonical Google API status codes, as Firestore reports them in an error's <c>status</c>.</summary>
public enum FirestoreStatus
{
    Unknown,
    Cancelled,
    InvalidArgument,
    DeadlineExceeded,
    NotFound,
    AlreadyExists,
    PermissionDenied,
    ResourceExhausted,
    FailedPrecondition,
    Aborted,
    OutOfRange,
    Unimplemented,
    Internal,
    Unavailable,
    DataLoss,
    Unauthenticated,
}

/// <summary>A request Firestore refused; branch on <see cref="Status"/>.</summary>
public sealed class FirestoreException : Exception
{
    public FirestoreException()
    {
    }

    public FirestoreException(string message) : base(message)
    {
    }

    public FirestoreException(string message, Exception innerException) : base(message, innerException)
    {
    }

    public FirestoreException(FirestoreStatus status, HttpStatusCode httpStatus, string message) : base(message)
    {
        Status = status;
        HttpStatus = httpStatus;
    }

    public FirestoreStatus Status { get; }

    public HttpStatusCode HttpStatus { get; }

    internal static FirestoreException FromResponse(HttpStatusCode httpStatus, ReadOnlySpan<byte> body, string operation)
    {
        string? statusText = null;
        string? message = null;
        try
        {
            var reader = new Utf8JsonReader(body);
            using var document = JsonDocument.ParseValue(ref reader);
            if (document.RootElement.ValueKind == JsonValueKind.Object
                && document.RootElement.TryGetProperty("error", out var error)
                && error.ValueKind == JsonValueKind.Object)
            {
                statusText = error.TryGetProperty("status", out var s) && s.ValueKind == JsonValueKind.String ? s.GetString() : null;
                message = error.TryGetProperty("message", out var m) && m.ValueKind == JsonValueKind.String ? m.GetString() : null;
            }
        }
        catch (JsonException)
        {
            // Not every failure has a JSON body (the emulator answers some with plain text); the HTTP status still tells.
        }

        message ??= System.Text.Encoding.UTF8.GetString(body.Length > 500 ? body[..500] : body).Trim();
        var status = ParseStatus(statusText) ?? FromHttpStatus(httpStatus);
        return new FirestoreException(status, httpStatus, $"Firestore {operation} failed with {ToWireName(status)} (HTTP {(int)httpStatus}): {message}");
    }

    private static FirestoreStatus? ParseStatus(string? text) =>
        text is not null && Enum.TryParse<FirestoreStatus>(text.Replace("_", "", StringComparison.Ordinal), ignoreCase: true, out var status)
            ? status
            : null;

    private static FirestoreStatus FromHttpStatus(HttpStatusCode code) => (int)code switch
    {
        400 => FirestoreStatus.InvalidArgument,
        401 => FirestoreStatus.Unauthenticated,
        403 => FirestoreStatus.PermissionDenied,
        404 => FirestoreStatus.NotFound,
        409 => FirestoreStatus.Aborted,
        412 => FirestoreStatus.FailedPrecondition,
        429 => FirestoreStatus.ResourceExhausted,
        499 => FirestoreStatus.Cancelled,
        500 => FirestoreStatus.Internal,
        501 => FirestoreStatus.Unimplemented,
        503 => FirestoreStatus.Unavailable,
        504 => FirestoreStatus.DeadlineExceeded,
        _ => FirestoreStatus.Unknown,
    };

    private static string ToWireName(FirestoreStatus status) => status switch
    {
        FirestoreStatus.InvalidArgument => "INVALID_ARGUMENT",
        FirestoreStatus.DeadlineExceeded => "DEADLINE_EXCEEDED",
        FirestoreStatus.NotFound => "NOT_FOUND",
        FirestoreStatus.AlreadyExists => "ALREADY_EXISTS",
        FirestoreStatus.PermissionDenied => "PERMISSION_DENIED",
        FirestoreStatus.ResourceExhausted => "RESOURCE_EXHAUSTED",
        FirestoreStatus.FailedPrecondition => "FAILED_PRECONDITION",
        FirestoreStatus.OutOfRange => "OUT_OF_RANGE",
        FirestoreStatus.DataLoss => "DATA_LOSS",
        _ => status.ToString().ToUpperInvariant(),
    };
}
