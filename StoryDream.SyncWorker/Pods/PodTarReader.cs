using System.Formats.Tar;
using System.Security.Cryptography;
using StoryDream.Snapshots;

namespace StoryDream.SyncWorker.Pods;

/// <summary>
/// Reads the tar a pod sends for <c>POST /files/read</c> and trusts none of it: every entry must be a regular file that
/// was asked for, once, with a valid path and the size the manifest gave; its bytes must hash to the manifest's
/// SHA-256. The stream as a whole may not exceed what those files plus tar framing can take, so a lying header
/// (a huge PAX record or long name) cannot make this process allocate more than that.
/// </summary>
internal static class PodTarReader
{
    // Header, PAX header and record, GNU long-name blocks and padding of one entry, generously.
    private const long FramingPerEntry = 8 * 1024;
    private const long FramingSlack = 64 * 1024;

    /// <summary>
    /// Calls <paramref name="onFile"/> with each requested file's verified content, in the order the tar holds them,
    /// and fails unless every requested file arrived.
    /// </summary>
    public static async Task ReadAsync(
        Stream tar,
        IReadOnlyCollection<ManifestEntry> requested,
        long maxFileBytes,
        Func<ManifestEntry, byte[], CancellationToken, Task> onFile,
        CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(tar);
        ArgumentNullException.ThrowIfNull(requested);
        ArgumentNullException.ThrowIfNull(onFile);

        var expected = requested.ToDictionary(e => e.Path, StringComparer.Ordinal);
        var budget = requested.Sum(e => e.Size + FramingPerEntry) + FramingSlack;
        await using var limited = new LimitedReadStream(tar, budget);
        await using var reader = new TarReader(limited, leaveOpen: true);
        var received = new HashSet<string>(StringComparer.Ordinal);
        try
        {
            while (await reader.GetNextEntryAsync(copyData: false, cancellationToken) is { } entry)
            {
                var entryName = entry.Name;
                var path = CheckEntry(entry, entryName, expected, received, maxFileBytes);
                var manifestEntry = expected[path];
                var content = await ReadContentAsync(entry, manifestEntry, cancellationToken);
                await onFile(manifestEntry, content, cancellationToken);
            }
        }
        catch (Exception e) when (e is InvalidDataException or FormatException or EndOfStreamException or ArgumentException)
        {
            throw new SyncRefusedException($"The pod's tar stream is malformed: {e.Message}", e);
        }

        if (received.Count != expected.Count)
        {
            var missing = expected.Keys.Where(p => !received.Contains(p)).Take(5);
            throw new SyncRefusedException(
                $"The pod's tar stream ended without {expected.Count - received.Count} requested file(s), e.g. '{string.Join("', '", missing)}'.");
        }
    }

    private static string CheckEntry(TarEntry entry, string name, Dictionary<string, ManifestEntry> expected, HashSet<string> received, long maxFileBytes)
    {
        if (entry.EntryType is not (TarEntryType.RegularFile or TarEntryType.V7RegularFile))
        {
            throw new SyncRefusedException($"The pod's tar holds a {entry.EntryType} entry '{Printable(name)}'; only regular files are accepted.");
        }
        if (SnapshotPath.Problem(name) is { } problem)
        {
            throw new SyncRefusedException($"The pod's tar holds an invalid path '{Printable(name)}': {problem}");
        }
        if (!expected.TryGetValue(name, out var manifestEntry))
        {
            throw new SyncRefusedException($"The pod's tar holds '{name}', which was not requested.");
        }
        if (!received.Add(name))
        {
            throw new SyncRefusedException($"The pod's tar holds '{name}' twice.");
        }
        if (entry.Length > maxFileBytes)
        {
            throw new SyncRefusedException($"'{name}' is {entry.Length} bytes in the pod's tar; the limit is {maxFileBytes} bytes per file.");
        }
        if (entry.Length != manifestEntry.Size)
        {
            throw new ContentChangedException($"'{name}' is {entry.Length} bytes in the pod's tar but {manifestEntry.Size} in its manifest.");
        }
        return name;
    }

    private static async Task<byte[]> ReadContentAsync(TarEntry entry, ManifestEntry manifestEntry, CancellationToken cancellationToken)
    {
        var content = new byte[manifestEntry.Size];
        if (content.Length > 0)
        {
            var data = entry.DataStream ?? throw new SyncRefusedException($"The pod's tar entry '{manifestEntry.Path}' has no data.");
            await data.ReadExactlyAsync(content, cancellationToken);
        }
        var sha256 = Convert.ToHexStringLower(SHA256.HashData(content));
        if (!string.Equals(sha256, manifestEntry.Sha256, StringComparison.Ordinal))
        {
            throw new ContentChangedException($"'{manifestEntry.Path}' hashes to {sha256} in the pod's tar but {manifestEntry.Sha256} in its manifest.");
        }
        return content;
    }

    /// <summary>A name for an error message that cannot smuggle control characters into logs.</summary>
    internal static string Printable(string value)
    {
        var clipped = value.Length > 200 ? value[..200] + "…" : value;
        return string.Create(clipped.Length, clipped, (span, source) =>
        {
            for (var i = 0; i < source.Length; i++) { span[i] = char.IsControl(source[i]) ? '?' : source[i]; }
        });
    }

    /// <summary>Fails a read that would go past a byte budget, whatever the tar headers claim.</summary>
    private sealed class LimitedReadStream(Stream inner, long limit) : Stream
    {
        private long _read;

        public override bool CanRead => true;
        public override bool CanSeek => false;
        public override bool CanWrite => false;
        public override long Length => throw new NotSupportedException();
        public override long Position { get => _read; set => throw new NotSupportedException(); }

        public override int Read(byte[] buffer, int offset, int count) => Count(inner.Read(buffer, offset, Clamp(count)));

        public override async ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default) =>
            Count(await inner.ReadAsync(buffer[..Clamp(buffer.Length)], cancellationToken));

        public override Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
            ReadAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();

        public override void Flush() { }
        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
        public override void SetLength(long value) => throw new NotSupportedException();
        public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();

        private int Clamp(int count)
        {
            if (_read >= limit && count > 0)
            {
                throw new SyncRefusedException($"The pod's tar stream is longer than the {limit} bytes the requested files can take.");
            }
            return (int)Math.Min(count, limit - _read);
        }

        private int Count(int read)
        {
            _read += read;
            return read;
        }
    }
}
