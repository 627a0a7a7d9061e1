using System.Net;

namespace GoogleCloudBench.HandWritten;

/// <summary>
/// A Cloud Storage call failed. <see cref="StatusCode"/> is the HTTP status when the service answered
/// (404 not found, 412 precondition failed, 416 range not satisfiable...); <see cref="Reason"/> is its error reason.
/// </summary>
public class StorageException : Exception
{
    public StorageException()
    {
    }

    public StorageException(string message) : base(message)
    {
    }

    public StorageException(string message, Exception innerException) : base(message, innerException)
    {
    }

    public StorageException(string message, HttpStatusCode? statusCode, string? reason = null, Exception? innerException = null)
        : base(message, innerException)
    {
        StatusCode = statusCode;
        Reason = reason;
    }

    public HttpStatusCode? StatusCode { get; }

    public string? Reason { get; }

    public bool IsNotFound => StatusCode == HttpStatusCode.NotFound;

    public bool IsPreconditionFailed => StatusCode == HttpStatusCode.PreconditionFailed;
}

/// <summary>
/// The bytes sent or received do not match the checksum Cloud Storage holds: corruption in transit or at rest.
/// An upload that fails this way has had its corrupted object deleted.
/// </summary>
public sealed class StorageIntegrityException : StorageException
{
    public StorageIntegrityException()
    {
    }

    public StorageIntegrityException(string message) : base(message)
    {
    }

    public StorageIntegrityException(string message, Exception innerException) : base(message, innerException)
    {
    }
}
