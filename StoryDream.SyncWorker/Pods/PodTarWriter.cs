using System.Formats.Tar;
using System.Net;
using StoryDream.Snapshots;

namespace StoryDream.SyncWorker.Pods;

/// <summary>
/// The body of <c>PUT /files</c>: a PAX tar written as the files arrive, so a whole project never sits in memory. Only
/// regular files with valid snapshot paths are written; PAX carries names longer than ustar's 100 bytes and non-ASCII names.
/// </summary>
internal sealed class PodTarContent(IAsyncEnumerable<(ManifestEntry Entry, byte[] Content)> files) : HttpContent
{
    private static readonly DateTimeOffset FixedTime = DateTimeOffset.UnixEpoch;

    protected override async Task SerializeToStreamAsync(Stream stream, TransportContext? context, CancellationToken cancellationToken)
    {
        await using var writer = new TarWriter(stream, TarEntryFormat.Pax, leaveOpen: true);
        await foreach (var (entry, content) in files.WithCancellation(cancellationToken))
        {
            if (SnapshotPath.Problem(entry.Path) is { } problem)
            {
                throw new SyncRefusedException($"Refusing to send '{PodTarReader.Printable(entry.Path)}' to a pod: {problem}");
            }
            using var data = new MemoryStream(content, writable: false);
            var tarEntry = new PaxTarEntry(TarEntryType.RegularFile, entry.Path)
            {
                DataStream = data,
                Mode = UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.GroupRead | UnixFileMode.OtherRead,
                ModificationTime = FixedTime,
            };
            await writer.WriteEntryAsync(tarEntry, cancellationToken);
        }
    }

    protected override Task SerializeToStreamAsync(Stream stream, TransportContext? context) =>
        SerializeToStreamAsync(stream, context, CancellationToken.None);

    protected override bool TryComputeLength(out long length)
    {
        length = 0;
        return false;
    }
}
