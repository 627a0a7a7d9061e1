namespace GoogleCloudBench.HandWritten;

/// <summary>
/// An object's bytes as they arrive from the service. When the whole object is read, its CRC-32C and length are
/// checked at the end of the stream against what the service holds, and a mismatch throws
/// <see cref="StorageIntegrityException"/> from the read that reached the end. Ranged reads are not checked:
/// the service's checksums cover the whole object.
/// </summary>
public sealed class StorageReadStream : Stream
{
    private readonly HttpResponseMessage _response;
    private readonly Stream _content;
    private readonly uint? _expectedCrc32c;
    private readonly string _description;
    private readonly Crc32C? _crc;
    private long _read;
    private bool _verified;

    internal StorageReadStream(HttpResponseMessage response, Stream content, string description, long? contentLength, long generation, uint? expectedCrc32c, bool verify)
    {
        _response = response;
        _content = content;
        _description = description;
        ContentLength = contentLength;
        Generation = generation;
        _expectedCrc32c = expectedCrc32c;
        _crc = verify && expectedCrc32c.HasValue ? new Crc32C() : null;
    }

    /// <summary>Bytes this stream will deliver, when the service announced it.</summary>
    public long? ContentLength { get; }

    /// <summary>Generation of the object being read.</summary>
    public long Generation { get; }

    /// <summary>Whether the read will be checked against the service's checksum when it reaches the end.</summary>
    public bool IsVerified => _crc is not null;

    public override bool CanRead => true;
    public override bool CanSeek => false;
    public override bool CanWrite => false;
    public override long Length => throw new NotSupportedException();
    public override long Position { get => _read; set => throw new NotSupportedException(); }

    public override int Read(byte[] buffer, int offset, int count) => Read(buffer.AsSpan(offset, count));

    public override int Read(Span<byte> buffer)
    {
        var read = _content.Read(buffer);
        return buffer.IsEmpty ? 0 : Observe(buffer[..read]);
    }

    public override Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
        ReadAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();

    public override async ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default)
    {
        var read = await _content.ReadAsync(buffer, cancellationToken);
        return buffer.IsEmpty ? 0 : Observe(buffer.Span[..read]);
    }

    public override void Flush()
    {
    }

    public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
    public override void SetLength(long value) => throw new NotSupportedException();
    public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();

    protected override void Dispose(bool disposing)
    {
        if (disposing)
        {
            _content.Dispose();
            _response.Dispose();
        }
        base.Dispose(disposing);
    }

    private int Observe(ReadOnlySpan<byte> data)
    {
        if (data.Length > 0)
        {
            _read += data.Length;
            _crc?.Append(data);
            return data.Length;
        }
        if (_verified)
        {
            return 0;
        }
        _verified = true;
        if (ContentLength is { } expected && _read != expected)
        {
            throw new StorageIntegrityException($"{_description}: received {_read} bytes, expected {expected}.");
        }
        if (_crc is not null && _crc.Value != _expectedCrc32c)
        {
            throw new StorageIntegrityException(
                $"{_description}: CRC-32C of the received bytes is {Crc32C.ToBase64(_crc.Value)}, the service holds {Crc32C.ToBase64(_expectedCrc32c!.Value)}.");
        }
        return 0;
    }
}
