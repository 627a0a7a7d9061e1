namespace GoogleCloudBench.HandWritten;

/// <summary>
/// An object's metadata as Cloud Storage reports it. <see cref="Crc32c"/> is kept for every object,
/// <see cref="Md5Hash"/> (base64) for all but composite ones; <see cref="Metadata"/> is the custom metadata.
/// </summary>
public sealed record StorageObject(
    string Bucket,
    string Name,
    long Size,
    string? ContentType,
    long Generation,
    long Metageneration,
    uint? Crc32c,
    string? Md5Hash,
    DateTimeOffset? Created,
    DateTimeOffset? Updated,
    IReadOnlyDictionary<string, string> Metadata);

/// <summary>One page of a listing: the objects and, with a delimiter, the "folders" under the prefix.</summary>
public sealed record StorageListPage(IReadOnlyList<StorageObject> Objects, IReadOnlyList<string> Prefixes, string? NextPageToken);

/// <summary>What to list. With <see cref="Delimiter"/> <c>/</c>, names below the next <c>/</c> collapse into prefixes.</summary>
public sealed record StorageListOptions
{
    public string? Prefix { get; init; }
    public string? Delimiter { get; init; }

    /// <summary>Objects per page (the service caps it at 1000); null lets the service choose.</summary>
    public int? PageSize { get; init; }

    /// <summary>Continue a listing from a page token an earlier page returned.</summary>
    public string? PageToken { get; init; }
}

/// <summary>Preconditions and metadata for an upload.</summary>
public sealed record UploadOptions
{
    /// <summary>
    /// Write only if the live object has this generation; <c>0</c> means only if no live object exists
    /// (write-once). A failed precondition throws <see cref="StorageException"/> with status 412; so does a retried
    /// write-once upload whose first attempt landed although its answer was lost, which for a content-addressed
    /// object means the same thing: it is there.
    /// </summary>
    public long? IfGenerationMatch { get; init; }

    /// <summary>Custom metadata stored with the object.</summary>
    public IReadOnlyDictionary<string, string>? Metadata { get; init; }
}

/// <summary>Preconditions for a copy; they apply to the destination.</summary>
public sealed record CopyOptions
{
    /// <inheritdoc cref="UploadOptions.IfGenerationMatch"/>
    public long? IfGenerationMatch { get; init; }
}

/// <summary>A byte range of an object: <see cref="Length"/> bytes from <see cref="Offset"/>, or to the end when null.</summary>
public readonly record struct ByteRange
{
    public ByteRange(long offset, long? length = null)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(offset);
        if (length is { } value)
        {
            ArgumentOutOfRangeException.ThrowIfNegativeOrZero(value, nameof(length));
            ArgumentOutOfRangeException.ThrowIfGreaterThan(value, long.MaxValue - offset, nameof(length));
        }
        Offset = offset;
        Length = length;
    }

    public long Offset { get; }
    public long? Length { get; }

    internal string ToHeaderValue() =>
        Length is { } length
            ? FormattableString.Invariant($"bytes={Offset}-{Offset + length - 1}")
            : FormattableString.Invariant($"bytes={Offset}-");
}
