using System.Diagnostics;
using System.Diagnostics.Metrics;

namespace StoryDream.SyncWorker;

/// <summary>
/// The worker's instruments on the meter <c>StoryDream.SyncWorker</c>, which the service defaults export through
/// OpenTelemetry: how long jobs take, how many files and bytes move each way, and what fails.
/// </summary>
internal sealed class SyncMetrics
{
    public const string MeterName = "StoryDream.SyncWorker";

    /// <summary>The worker's spans (one per batch of jobs); the service defaults export every <c>StoryDream.*</c> source.</summary>
    public static readonly ActivitySource ActivitySource = new(MeterName);

    private readonly Histogram<double> _duration;
    private readonly Counter<long> _jobs;
    private readonly Counter<long> _files;
    private readonly Counter<long> _bytes;
    private readonly Counter<long> _failures;

    public SyncMetrics(IMeterFactory meterFactory)
    {
        ArgumentNullException.ThrowIfNull(meterFactory);
        var meter = meterFactory.Create(MeterName);
        _duration = meter.CreateHistogram<double>("storydream.sync.duration", "s",
            "Time from taking a batch of jobs to its commit (or failure).",
            advice: new InstrumentAdvice<double> { HistogramBucketBoundaries = [0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120] });
        _jobs = meter.CreateCounter<long>("storydream.sync.jobs", "{job}", "Jobs completed, counting each job of a coalesced run.");
        _files = meter.CreateCounter<long>("storydream.sync.files", "{file}", "Files moved: fetched from pods, uploaded, downloaded, written to or deleted from pods.");
        _bytes = meter.CreateCounter<long>("storydream.sync.bytes", "By", "Bytes moved between pods and Cloud Storage.");
        _failures = meter.CreateCounter<long>("storydream.sync.failures", "{failure}", "Failed runs and dropped entries, by reason.");
    }

    public void RecordRun(string kind, string outcome, TimeSpan duration, int jobs)
    {
        var tags = new TagList { { "kind", kind }, { "outcome", outcome } };
        _duration.Record(duration.TotalSeconds, tags);
        _jobs.Add(jobs, tags);
    }

    public void RecordTransfer(TransferStats stats)
    {
        ArgumentNullException.ThrowIfNull(stats);
        Add("pod-read", stats.FilesReadFromPod, stats.BytesReadFromPod);
        Add("upload", stats.BlobsUploaded, stats.BytesUploaded);
        Add("download", stats.BlobsDownloaded, stats.BytesDownloaded);
        Add("pod-write", stats.FilesWrittenToPod, stats.BytesWrittenToPod);
        if (stats.FilesDeletedFromPod > 0) { _files.Add(stats.FilesDeletedFromPod, new KeyValuePair<string, object?>("direction", "pod-delete")); }
    }

    public void RecordFailure(string kind, string reason) =>
        _failures.Add(1, new TagList { { "kind", kind }, { "reason", reason } });

    private void Add(string direction, long files, long bytes)
    {
        if (files == 0 && bytes == 0) { return; }
        var tag = new KeyValuePair<string, object?>("direction", direction);
        _files.Add(files, tag);
        _bytes.Add(bytes, tag);
    }
}

/// <summary>What one run moved; the run's result carries it to the metrics and the logs.</summary>
internal sealed class TransferStats
{
    private long _filesReadFromPod;
    private long _bytesReadFromPod;
    private long _blobsUploaded;
    private long _bytesUploaded;
    private long _blobsDownloaded;
    private long _bytesDownloaded;

    public long FilesReadFromPod => Interlocked.Read(ref _filesReadFromPod);
    public long BytesReadFromPod => Interlocked.Read(ref _bytesReadFromPod);
    public long BlobsUploaded => Interlocked.Read(ref _blobsUploaded);
    public long BytesUploaded => Interlocked.Read(ref _bytesUploaded);
    public long BlobsDownloaded => Interlocked.Read(ref _blobsDownloaded);
    public long BytesDownloaded => Interlocked.Read(ref _bytesDownloaded);
    public long FilesWrittenToPod { get; set; }
    public long BytesWrittenToPod { get; set; }
    public long FilesDeletedFromPod { get; set; }

    public void PodRead(long bytes)
    {
        Interlocked.Increment(ref _filesReadFromPod);
        Interlocked.Add(ref _bytesReadFromPod, bytes);
    }

    public void Uploaded(long bytes)
    {
        Interlocked.Increment(ref _blobsUploaded);
        Interlocked.Add(ref _bytesUploaded, bytes);
    }

    public void Downloaded(long bytes)
    {
        Interlocked.Increment(ref _blobsDownloaded);
        Interlocked.Add(ref _bytesDownloaded, bytes);
    }
}
