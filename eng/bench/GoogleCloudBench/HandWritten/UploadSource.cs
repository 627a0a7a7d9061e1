using System.Buffers;
using System.Net;

namespace GoogleCloudBench.HandWritten;

/// <summary>
/// The bytes of one upload, readable by position so a failed request can be sent again from where the service
/// stopped. Every byte is checksummed once, the first time it is sent, in order; resends skip what is already summed.
/// </summary>
internal abstract class UploadSource : IDisposable
{
    private const int CopyBufferSize = 128 * 1024;
    private readonly Crc32C _crc = new();
    private long _checksummed;

    /// <summary>Total size, or null while a non-seekable stream has not been read to its end.</summary>
    public abstract long? Length { get; }

    /// <summary>CRC-32C of everything sent so far, which is the whole object once the last byte went out.</summary>
    public uint Crc32c => _crc.Value;

    public long Checksummed => _checksummed;

    public static UploadSource FromMemory(ReadOnlyMemory<byte> content) => new MemorySource(content);

    /// <summary>
    /// Seekable streams are read in place from their current position. A non-seekable stream is read into a
    /// buffer of <paramref name="chunkSize"/> bytes first; if it ends there, the whole upload sits in that buffer.
    /// </summary>
    public static async Task<UploadSource> FromStreamAsync(Stream stream, int chunkSize, CancellationToken cancellationToken)
    {
        if (stream.CanSeek)
        {
            var start = stream.Position;
            var length = stream.Length - start;
            return length >= 0
                ? new SeekableSource(stream, start, length)
                : throw new ArgumentException("The stream's position is past its end.", nameof(stream));
        }
        var source = new BufferedSource(stream, chunkSize);
        try
        {
            await source.PrepareAsync(0, cancellationToken);
            return source;
        }
        catch
        {
            source.Dispose();
            throw;
        }
    }

    /// <summary>
    /// Makes the bytes from <paramref name="offset"/> readable and says how many the next request may carry: the
    /// rest of the object for seekable sources, what the buffer holds for a non-seekable stream.
    /// </summary>
    public virtual ValueTask<long> PrepareAsync(long offset, CancellationToken cancellationToken) =>
        ValueTask.FromResult(Length!.Value - offset);

    public HttpContent CreateContent(long offset, long count, ReadOnlyMemory<byte> prefix = default, ReadOnlyMemory<byte> suffix = default) =>
        new SourceContent(this, offset, count, prefix, suffix);

    public void Dispose()
    {
        Dispose(disposing: true);
        GC.SuppressFinalize(this);
    }

    protected virtual void Dispose(bool disposing)
    {
    }

    protected abstract Task WriteRangeAsync(Stream destination, long offset, long count, CancellationToken cancellationToken);

    protected void Checksum(long position, ReadOnlySpan<byte> data)
    {
        var end = position + data.Length;
        if (end <= _checksummed)
        {
            return;
        }
        if (position > _checksummed)
        {
            throw new InvalidOperationException("Upload bytes were sent out of order; the checksum would skip data.");
        }
        _crc.Append(data[(int)(_checksummed - position)..]);
        _checksummed = end;
    }

    protected static async Task CopyAsync(Stream source, Stream destination, long position, long count, Action<long, ReadOnlySpan<byte>> checksum, CancellationToken cancellationToken)
    {
        var buffer = ArrayPool<byte>.Shared.Rent((int)Math.Min(CopyBufferSize, Math.Max(count, 1)));
        try
        {
            while (count > 0)
            {
                var read = await source.ReadAsync(buffer.AsMemory(0, (int)Math.Min(buffer.Length, count)), cancellationToken);
                if (read == 0)
                {
                    throw new IOException("The upload stream ended before its announced length.");
                }
                checksum(position, buffer.AsSpan(0, read));
                await destination.WriteAsync(buffer.AsMemory(0, read), cancellationToken);
                position += read;
                count -= read;
            }
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }
    }

    private sealed class MemorySource(ReadOnlyMemory<byte> content) : UploadSource
    {
        public override long? Length => content.Length;

        protected override async Task WriteRangeAsync(Stream destination, long offset, long count, CancellationToken cancellationToken)
        {
            var slice = content.Slice((int)offset, (int)count);
            Checksum(offset, slice.Span);
            await destination.WriteAsync(slice, cancellationToken);
        }
    }

    private sealed class SeekableSource(Stream stream, long start, long length) : UploadSource
    {
        public override long? Length => length;

        protected override Task WriteRangeAsync(Stream destination, long offset, long count, CancellationToken cancellationToken)
        {
            stream.Position = start + offset;
            return CopyAsync(stream, destination, offset, count, Checksum, cancellationToken);
        }
    }

    /// <summary>
    /// A non-seekable stream seen through a window of at most one chunk, the most a resumable request resends. The
    /// window starts small and grows only as far as the stream goes, so a small upload holds little memory.
    /// </summary>
    private sealed class BufferedSource(Stream stream, int chunkSize) : UploadSource
    {
        private const int InitialWindow = 64 * 1024;
        private byte[]? _buffer = ArrayPool<byte>.Shared.Rent(Math.Min(chunkSize, InitialWindow));
        private long _bufferStart;
        private int _bufferCount;
        private bool _ended;

        public override long? Length => _ended ? _bufferStart + _bufferCount : null;

        public override async ValueTask<long> PrepareAsync(long offset, CancellationToken cancellationToken)
        {
            var buffer = _buffer ?? throw new ObjectDisposedException(nameof(BufferedSource));
            if (offset < _bufferStart || offset > _bufferStart + _bufferCount)
            {
                throw new StorageException(
                    $"The service asked to resume at byte {offset}, outside the {_bufferCount} bytes held from byte {_bufferStart}.",
                    HttpStatusCode.Conflict);
            }
            var consumed = (int)(offset - _bufferStart);
            if (consumed > 0)
            {
                Buffer.BlockCopy(buffer, consumed, buffer, 0, _bufferCount - consumed);
                _bufferStart = offset;
                _bufferCount -= consumed;
            }
            while (!_ended && _bufferCount < chunkSize)
            {
                if (_bufferCount == buffer.Length)
                {
                    var larger = ArrayPool<byte>.Shared.Rent(Math.Min(chunkSize, buffer.Length * 2));
                    Buffer.BlockCopy(buffer, 0, larger, 0, _bufferCount);
                    ArrayPool<byte>.Shared.Return(buffer);
                    _buffer = buffer = larger;
                }
                var read = await stream.ReadAsync(buffer.AsMemory(_bufferCount, Math.Min(buffer.Length, chunkSize) - _bufferCount), cancellationToken);
                _bufferCount += read;
                _ended = read == 0;
            }
            // Until the end is known, a resumable request must carry a multiple of 256 KiB.
            return _ended ? _bufferCount : _bufferCount - (_bufferCount % StorageClientOptions.ChunkGranularity);
        }

        protected override async Task WriteRangeAsync(Stream destination, long offset, long count, CancellationToken cancellationToken)
        {
            var buffer = _buffer ?? throw new ObjectDisposedException(nameof(BufferedSource));
            var slice = buffer.AsMemory((int)(offset - _bufferStart), (int)count);
            Checksum(offset, slice.Span);
            await destination.WriteAsync(slice, cancellationToken);
        }

        protected override void Dispose(bool disposing)
        {
            if (disposing && _buffer is { } buffer)
            {
                _buffer = null;
                ArrayPool<byte>.Shared.Return(buffer);
            }
            base.Dispose(disposing);
        }
    }

    /// <summary>A request body of an optional prefix, a range of the source, and an optional suffix, with a known length.</summary>
    private sealed class SourceContent(UploadSource source, long offset, long count, ReadOnlyMemory<byte> prefix, ReadOnlyMemory<byte> suffix) : HttpContent
    {
        protected override Task SerializeToStreamAsync(Stream stream, TransportContext? context) =>
            SerializeToStreamAsync(stream, context, CancellationToken.None);

        protected override async Task SerializeToStreamAsync(Stream stream, TransportContext? context, CancellationToken cancellationToken)
        {
            if (!prefix.IsEmpty)
            {
                await stream.WriteAsync(prefix, cancellationToken);
            }
            if (count > 0)
            {
                await source.WriteRangeAsync(stream, offset, count, cancellationToken);
            }
            if (!suffix.IsEmpty)
            {
                await stream.WriteAsync(suffix, cancellationToken);
            }
        }

        protected override bool TryComputeLength(out long length)
        {
            length = prefix.Length + count + suffix.Length;
            return true;
        }
    }
}
