using System.Diagnostics;
using System.Diagnostics.Metrics;
using System.Globalization;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using StackExchange.Redis;
using StoryDream.GoogleCloud;
using StoryDream.GoogleCloud.Firestore;
using Google.Cloud.Storage.V1;
using Microsoft.Extensions.Options;
using StoryDream.GoogleCloud.Storage;
using StoryDream.Sessions;
using StoryDream.Snapshots;
using StoryDream.SyncWorker;
using StoryDream.Bench;

namespace SyncBench;

/// <summary>
/// The sync worker end to end: a 2,000-file, about 50 MB project in a real session-pod, one file changed per round,
/// timed from the job's XADD to its <c>done</c> event (published right after the commit), with the bytes the worker
/// uploaded. Beside it, the baseline a plain <c>cp -r</c> style sync would cost: every file uploaded to Cloud Storage
/// (same client, same parallelism). Then hydrating the whole project into an empty pod.
/// </summary>
internal static class SyncBenchmark
{
    private const int FileCount = 2000;
    private const int MinFileBytes = 1024;
    private const int MaxFileBytes = 51 * 1024;
    private const int CopyParallelism = 8;

    public static async Task RunAsync(bool quick, int? rounds)
    {
        var syncRounds = rounds ?? (quick ? 5 : 20);
        // Untimed syncs first, so the figures are a long-running worker's: its code tiered up (.NET optimizes a method
        // after 30 calls, and a sync makes most of its calls once), the emulators' JVM and Node warm on the sync's path.
        // The full copy gets an untimed round too.
        var warmupRounds = quick ? 5 : 30;
        var copyRounds = quick ? 1 : 5;
        var hydrateRounds = quick ? 1 : 3;

        await using var redis = await ServerProcess.StartAsync("redis.sh");
        var firestoreHost = Environment.GetEnvironmentVariable("FIRESTORE_EMULATOR_HOST");
        await using var firestoreServer = string.IsNullOrEmpty(firestoreHost) ? await ServerProcess.StartAsync("firestore.sh") : null;
        var storageHost = Environment.GetEnvironmentVariable("STORAGE_EMULATOR_HOST");
        await using var storageServer = string.IsNullOrEmpty(storageHost) ? await ServerProcess.StartAsync("storage.sh") : null;
        var suffix = Guid.NewGuid().ToString("N")[..12];
        var settings = new Dictionary<string, string?>(StringComparer.Ordinal)
        {
            ["ConnectionStrings:redis"] = redis.Endpoint,
            ["GoogleCloud:ProjectId"] = $"bench-{suffix}",
            ["GoogleCloud:FirestoreEmulatorHost"] = firestoreServer?.Endpoint ?? firestoreHost,
            ["GoogleCloud:StorageEmulatorHost"] = storageServer?.Endpoint ?? storageHost,
            ["GoogleCloud:Storage:Bucket"] = $"bench-{suffix}",
        };
        var configuration = new ConfigurationBuilder().AddInMemoryCollection(settings).Build();
        await using var services = new ServiceCollection()
            .AddSingleton<IConfiguration>(configuration)
            .AddLogging()
            .AddGoogleCloud(configuration)
            .AddSnapshotStore()
            .BuildServiceProvider();
        var store = services.GetRequiredService<ISnapshotStore>();
        var storage = services.GetRequiredService<StorageClient>();
        var storageOptions = services.GetRequiredService<IOptions<StorageOptions>>().Value;
        using var connection = await ConnectionMultiplexer.ConnectAsync(redis.Endpoint);
        var db = connection.GetDatabase();

        var workspace = Directory.CreateTempSubdirectory("sd-bench-sync-").FullName;
        var hydrateWorkspace = Directory.CreateTempSubdirectory("sd-bench-hydrate-").FullName;
        try
        {
            var files = WriteProject(workspace);
            var totalBytes = files.Sum(f => f.Size);
            var projectId = await CreateEmptyProjectAsync(store, services.GetRequiredService<FirestoreClient>());
            await using var pod = await PodServer.StartAsync(workspace);
            var sessionId = await StartSessionAsync(db, projectId, pod);
            await using var worker = await StartWorkerAsync(settings);
            using var uploads = new UploadMeter(worker.Services.GetRequiredService<IMeterFactory>());
            var events = new SyncEvents(connection);
            await events.StartAsync();

            Console.WriteLine();
            Console.WriteLine($"Sync: {FileCount} files, {totalBytes / (1024.0 * 1024):F1} MiB, in a session-pod; worker, Redis, Firestore and Storage emulators local.");
            var initial = await TimeJobAsync(db, events, SyncKinds.Sync, projectId, sessionId);
            Console.WriteLine($"first sync of the whole project: {initial.Elapsed.TotalMilliseconds:F0} ms, {uploads.Take() / (1024.0 * 1024):F1} MiB of blobs uploaded");
            var manifestTimes = new List<TimeSpan>();
            using (var http = new HttpClient())
            {
                http.DefaultRequestHeaders.Authorization = new System.Net.Http.Headers.AuthenticationHeaderValue("Bearer", pod.PodSecret);
                for (var i = 0; i < 5; i++)
                {
                    var watch = Stopwatch.StartNew();
                    await http.GetStringAsync(new Uri(pod.FilesUrl, "files/manifest"));
                    manifestTimes.Add(watch.Elapsed);
                }
            }

            using var timeline = new StepTimeline();
            var syncTimes = new List<TimeSpan>();
            var uploadedBytes = new List<long>();
            var changedBytes = new List<long>();
            var manifestBytes = new List<long>();
            var copyTimes = new List<TimeSpan>();
            var copyBytes = 0L;
            var random = new Random(1);
            for (var round = -warmupRounds; round < syncRounds; round++)
            {
                var file = files[random.Next(files.Count)];
                var content = new byte[file.Size];
                random.NextBytes(content);
                await File.WriteAllBytesAsync(Path.Combine(workspace, file.Path), content);
                uploads.Take();
                timeline.Clear();
                var (elapsed, done, enqueuedAt) = await TimeJobAsync(db, events, SyncKinds.Sync, projectId, sessionId);
                if (round < 0)
                {
                    if (round == -1) { await FullCopyAsync(storage, storageOptions, workspace, files, "copy-warmup"); }
                    continue;
                }
                timeline.EndRound(enqueuedAt, elapsed);
                syncTimes.Add(elapsed);
                uploadedBytes.Add(uploads.Take());
                changedBytes.Add(file.Size);
                manifestBytes.Add((long)(await storage.GetObjectAsync(storageOptions.Bucket, SnapshotObjectNames.ProjectManifest(projectId, done.SnapshotId!))).Size!.Value);

                // Baseline rounds interleave with the sync rounds, so load from other processes hits both alike.
                if (copyTimes.Count < copyRounds && round % Math.Max(1, syncRounds / copyRounds) == 0)
                {
                    var (copyTime, bytes) = await FullCopyAsync(storage, storageOptions, workspace, files, $"copy-{round}");
                    copyTimes.Add(copyTime);
                    copyBytes = bytes;
                }
            }

            await using var emptyPod = await PodServer.StartAsync(hydrateWorkspace);
            var hydrateSession = await StartSessionAsync(db, projectId, emptyPod);
            var hydrateTimes = new List<TimeSpan>();
            for (var round = 0; round < hydrateRounds; round++)
            {
                foreach (var root in SnapshotPath.WorkspaceRoots)
                {
                    foreach (var entry in Directory.EnumerateFileSystemEntries(Path.Combine(hydrateWorkspace, root)))
                    {
                        if (Directory.Exists(entry)) { Directory.Delete(entry, recursive: true); } else { File.Delete(entry); }
                    }
                }
                var (elapsed, _, _) = await TimeJobAsync(db, events, SyncKinds.Hydrate, projectId, hydrateSession);
                hydrateTimes.Add(elapsed);
                CheckSameFiles(workspace, hydrateWorkspace, files);
            }

            var sync = Median(syncTimes);
            var copy = Median(copyTimes);
            Console.WriteLine($"pod's GET /files/manifest alone (unchanged tree, hashes reused): median {Median(manifestTimes).TotalMilliseconds:F0} ms of 5");
            Console.WriteLine($"one-file sync rounds, in order (ms, after {warmupRounds} untimed): {string.Join(' ', syncTimes.Select(t => t.TotalMilliseconds.ToString("F0", CultureInfo.InvariantCulture)))}");
            Console.WriteLine($"{"",-44} {"median ms",10} {"min ms",8} {"max ms",8} {"uploaded bytes",15}");
            Row($"one-file sync, enqueue to commit ({syncTimes.Count} runs)", sync, syncTimes.Min(), syncTimes.Max(), Median(uploadedBytes));
            // A round past 1 s is a job that waited for something (issue 15, item 9: one once waited 33 s for the idle claim).
            Console.WriteLine($"one-file sync rounds over 1 s: {syncTimes.Count(t => t > TimeSpan.FromSeconds(1))} of {syncTimes.Count}; max {syncTimes.Max().TotalMilliseconds:F0} ms");
            Row($"full copy of every file to GCS ({copyTimes.Count} runs)", copy, copyTimes.Min(), copyTimes.Max(), copyBytes);
            Row($"hydrate of the whole project ({hydrateTimes.Count} runs)", Median(hydrateTimes), hydrateTimes.Min(), hydrateTimes.Max(), 0);
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"speed-up of one-file sync over full copy: {copy / sync:F1}x (target >= 20x); one-file sync median {sync.TotalMilliseconds:F0} ms (target <= 150 ms)"));
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"blob bytes uploaded / changed bytes: {(double)Median(uploadedBytes) / Median(changedBytes):F2} (target <= 1.1); the new snapshot's manifest adds {Median(manifestBytes)} bytes per commit"));
            timeline.Print();
        }
        finally
        {
            TryDelete(workspace);
            TryDelete(hydrateWorkspace);
        }
    }

    private static List<ManifestEntry> WriteProject(string workspace)
    {
        var random = new Random(42);
        var files = new List<ManifestEntry>(FileCount);
        for (var i = 0; i < FileCount; i++)
        {
            var path = $"src/dir{i / 50:D2}/file{i:D4}.bin";
            var content = new byte[random.Next(MinFileBytes, MaxFileBytes + 1)];
            random.NextBytes(content);
            var full = Path.Combine(workspace, path);
            Directory.CreateDirectory(Path.GetDirectoryName(full)!);
            File.WriteAllBytes(full, content);
            files.Add(new ManifestEntry(path, Sha256Hex.Of(content), content.Length));
        }
        return files;
    }

    /// <summary>A project created the way the API creates one, from an (empty) template.</summary>
    private static async Task<string> CreateEmptyProjectAsync(ISnapshotStore store, FirestoreClient firestore)
    {
        var projectId = Guid.NewGuid().ToString();
        var templateId = "bench-" + Guid.NewGuid().ToString("N")[..8];
        var empty = SnapshotManifest.Empty;
        await store.WriteTemplateAsync(templateId, new Dictionary<string, ReadOnlyMemory<byte>>(), empty, CancellationToken.None);
        await firestore.CommitAsync(
        [
            Write.Create(SnapshotDocuments.Project(projectId), new Dictionary<string, object?>
            {
                ["ownerId"] = "bench",
                ["name"] = "Sync benchmark",
                [SnapshotDocuments.HeadField] = empty.Id,
            }),
            SnapshotDocuments.TemplateEntry(projectId, templateId, empty.Id, 0, 0),
        ]);
        return projectId;
    }

    /// <summary>
    /// The session record the API writes for a ready pod: the worker talks to a pod only as the session it is recorded
    /// for, proven by the secret the pod was started with.
    /// </summary>
    private static async Task<string> StartSessionAsync(IDatabase db, string projectId, PodServer pod)
    {
        var now = DateTimeOffset.UtcNow;
        var unused = new Uri("http://127.0.0.1:1/");
        await db.HashSetAsync(RedisKeys.Session(pod.SessionId),
            new SessionRecord(pod.SessionId, projectId, "bench", SessionStatus.Ready, "local", unused, unused, pod.FilesUrl, now, now, pod.PodSecret).ToHashEntries());
        return pod.SessionId;
    }

    private static async Task<WebApplication> StartWorkerAsync(Dictionary<string, string?> settings)
    {
        var builder = WebApplication.CreateBuilder();
        builder.Configuration.AddInMemoryCollection(settings);
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        builder.Logging.ClearProviders();
        builder.AddServiceDefaults();
        builder.AddSyncWorkerServices();
        var app = builder.Build();
        app.MapDefaultEndpoints();
        await app.StartAsync();
        return app;
    }

    private static async Task<(TimeSpan Elapsed, SyncEvent Done, DateTime EnqueuedAt)> TimeJobAsync(IDatabase db, SyncEvents events, string kind, string projectId, string sessionId)
    {
        var job = new SyncJob(Guid.NewGuid().ToString(), kind, projectId, sessionId, kind == SyncKinds.Sync ? SyncReasons.AgentTurn : SyncReasons.Restore);
        var done = events.Expect(job.JobId);
        var enqueuedAt = DateTime.UtcNow;
        var watch = Stopwatch.StartNew();
        await db.StreamAddAsync(RedisKeys.SyncJobsStream, job.ToStreamFields());
        var result = await done.WaitAsync(TimeSpan.FromMinutes(5));
        var elapsed = watch.Elapsed;
        if (result.Status != SyncEvent.Done) { throw new InvalidOperationException($"The {kind} job failed: {result.Error}"); }
        return (elapsed, result, enqueuedAt);
    }

    /// <summary>What a plain recursive copy does: every file read and uploaded, whether it changed or not.</summary>
    private static async Task<(TimeSpan Elapsed, long Bytes)> FullCopyAsync(StorageClient storage, StorageOptions options, string workspace, List<ManifestEntry> files, string prefix)
    {
        var bytes = 0L;
        var watch = Stopwatch.StartNew();
        await Parallel.ForEachAsync(files, new ParallelOptions { MaxDegreeOfParallelism = CopyParallelism }, async (file, ct) =>
        {
            var content = await File.ReadAllBytesAsync(Path.Combine(workspace, file.Path), ct);
            using var source = new MemoryStream(content);
            await storage.UploadObjectAsync(options.Bucket, $"{prefix}/{file.Path}", "application/octet-stream", source, options.Upload(), ct);
            Interlocked.Add(ref bytes, content.Length);
        });
        return (watch.Elapsed, bytes);
    }

    private static void CheckSameFiles(string expectedWorkspace, string actualWorkspace, List<ManifestEntry> files)
    {
        var actual = Directory.EnumerateFiles(Path.Combine(actualWorkspace, "src"), "*", SearchOption.AllDirectories).Count();
        if (actual != files.Count) { throw new InvalidOperationException($"Hydrate left {actual} files, not {files.Count}."); }
        foreach (var file in files)
        {
            if (!File.ReadAllBytes(Path.Combine(expectedWorkspace, file.Path)).AsSpan().SequenceEqual(File.ReadAllBytes(Path.Combine(actualWorkspace, file.Path))))
            {
                throw new InvalidOperationException($"Hydrate wrote other bytes for {file.Path}.");
            }
        }
    }

    private static void Row(string label, TimeSpan median, TimeSpan min, TimeSpan max, long bytes) =>
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"{label,-44} {median.TotalMilliseconds,10:F0} {min.TotalMilliseconds,8:F0} {max.TotalMilliseconds,8:F0} {bytes,15}"));

    private static TimeSpan Median(List<TimeSpan> values) => values.Order().ElementAt(values.Count / 2);

    private static long Median(List<long> values) => values.Order().ElementAt(values.Count / 2);

    private static void TryDelete(string directory)
    {
        try { Directory.Delete(directory, recursive: true); }
        catch (IOException) { }
        catch (UnauthorizedAccessException) { }
    }

    /// <summary>The bytes the worker reports uploading, through its own metric (<c>storydream.sync.bytes</c>, direction upload).</summary>
    private sealed class UploadMeter : IDisposable
    {
        private readonly MeterListener _listener = new();
        private long _bytes;

        public UploadMeter(IMeterFactory factory)
        {
            _listener.InstrumentPublished = (instrument, listener) =>
            {
                if (ReferenceEquals(instrument.Meter.Scope, factory) && instrument.Name == "storydream.sync.bytes") { listener.EnableMeasurementEvents(instrument); }
            };
            _listener.SetMeasurementEventCallback<long>((_, value, tags, _) =>
            {
                foreach (var tag in tags)
                {
                    if (tag.Key == "direction" && (string?)tag.Value == "upload") { Interlocked.Add(ref _bytes, value); }
                }
            });
            _listener.Start();
        }

        public long Take() => Interlocked.Exchange(ref _bytes, 0);

        public void Dispose() => _listener.Dispose();
    }

    private sealed class SyncEvents(ConnectionMultiplexer connection)
    {
        private readonly Dictionary<string, TaskCompletionSource<SyncEvent>> _waiting = new(StringComparer.Ordinal);

        public Task StartAsync() => connection.GetSubscriber().SubscribeAsync(RedisChannel.Literal(RedisKeys.SyncEventsChannel), (_, message) =>
        {
            if (SyncEvent.FromJson(message.ToString()) is not { } parsed) { return; }
            lock (_waiting)
            {
                if (_waiting.Remove(parsed.JobId, out var waiter)) { waiter.TrySetResult(parsed); }
            }
        });

        public Task<SyncEvent> Expect(string jobId)
        {
            var waiter = new TaskCompletionSource<SyncEvent>(TaskCreationOptions.RunContinuationsAsynchronously);
            lock (_waiting) { _waiting[jobId] = waiter; }
            return waiter.Task;
        }
    }

    /// <summary>
    /// A session-pod process (session-pod/README.md) over a given workspace, on free ports, started as the API's local
    /// runtime starts one: with its session id and pod secret.
    /// </summary>
    private sealed class PodServer(ServerProcess process, Uri filesUrl, string sessionId, string podSecret) : IAsyncDisposable
    {
        public Uri FilesUrl { get; } = filesUrl;
        public string SessionId { get; } = sessionId;
        public string PodSecret { get; } = podSecret;

        public static async Task<PodServer> StartAsync(string workspace)
        {
            var root = ServerProcess.RepositoryRoot;
            var main = Path.Combine(root, "session-pod", "dist", "src", "main.js");
            if (!File.Exists(main)) { throw new InvalidOperationException($"{main} is missing: run 'bash eng/setup.sh' and 'npm run build' in session-pod."); }
            var info = new ProcessStartInfo("node", [main]) { WorkingDirectory = Path.Combine(root, "session-pod") };
            info.Environment["WORKSPACE_DIR"] = workspace;
            info.Environment["FILES_PORT"] = "0";
            info.Environment["AGENT_PORT"] = "0";
            info.Environment["PREVIEW_PORT"] = "0";
            info.Environment["STORYDREAM_AGENT"] = "scripted";
            info.Environment["VITE_CACHE_DIR"] = workspace + "-vite";
            var sessionId = Guid.NewGuid().ToString();
            var podSecret = PodCredentials.NewPodSecret();
            info.Environment["STORYDREAM_SESSION_ID"] = sessionId;
            info.Environment["STORYDREAM_POD_SECRET"] = podSecret;
            var server = await ServerProcess.StartAsync(info, "session-pod");
            // READY files=PORT agent=PORT preview=PORT
            var port = server.Endpoint.Split(' ').FirstOrDefault(part => part.StartsWith("files=", StringComparison.Ordinal));
            if (port is null)
            {
                await server.DisposeAsync();
                throw new InvalidOperationException($"session-pod's READY line names no files port: {server.Endpoint}");
            }
            return new PodServer(server, new Uri($"http://127.0.0.1:{port["files=".Length..]}/"), sessionId, podSecret);
        }

        public ValueTask DisposeAsync() => process.DisposeAsync();
    }
}
