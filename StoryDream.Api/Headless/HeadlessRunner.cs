using System.Collections.Concurrent;
using Microsoft.Extensions.Options;
using StackExchange.Redis;
using StoryDream.Api.Chat;
using StoryDream.Api.Downloads;
using StoryDream.Api.Exports;
using StoryDream.Api.Messages;
using StoryDream.Api.Projects;
using StoryDream.Api.Sessions;
using StoryDream.Api.Webhooks;
using StoryDream.GoogleCloud.Firestore;
using StoryDream.Sessions;
using SessionOptions = StoryDream.Api.Sessions.SessionOptions;

namespace StoryDream.Api.Headless;

/// <summary>
/// Runs headless jobs in the API process, where sessions and chat turns already live: a job is a session start and one
/// chat turn, so running it here reuses both without a second copy of either, and an API replica is already the unit
/// that scales with them. Each phase is stored before it begins and is safe to repeat: a job taken over after its runner
/// died starts over from its stored phase, writes the same two messages, and announces its end once (delivery ids derive
/// from the job). The stream entry is acknowledged only after the outcome is stored and announced.
/// </summary>
internal sealed partial class HeadlessRunner(
    HeadlessQueue queue,
    HeadlessJobStore jobs,
    IProjectStore projects,
    IMessageStore messages,
    SessionManager sessions,
    SessionStops stops,
    ChatTurns turns,
    SyncJobs syncJobs,
    WebhookOutbox webhooks,
    IExportStore exports,
    ExportLauncher launcher,
    IDownloadLinks links,
    IOptions<Exports.ExportOptions> exportOptions,
    IOptions<HeadlessOptions> options,
    IOptions<SessionOptions> sessionOptions,
    TimeProvider time,
    ILogger<HeadlessRunner> logger) : BackgroundService
{
    private static readonly TimeSpan TurnPoll = TimeSpan.FromMilliseconds(100);
    private static readonly TimeSpan ErrorBackoff = TimeSpan.FromSeconds(1);

    // A turn's sync usually ends well within this: its phase is then stored with the job's end (its time in the timings),
    // not by a write of its own beside the sync, which would compete with the sync's own writes.
    private static readonly TimeSpan SyncingSavedAfter = TimeSpan.FromSeconds(1);

    private readonly HeadlessOptions _options = options.Value;
    private readonly string _consumer = $"api-{Environment.MachineName}-{Guid.NewGuid():N}";
    private readonly ConcurrentDictionary<string, Task> _runs = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, string> _locks = new(StringComparer.Ordinal);

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        await Task.Yield();
        var groupReady = false;
        var nextClaim = time.GetUtcNow();
        var renewing = RenewAsync(stoppingToken);
        // One task for the whole loop that ends on shutdown (a new one per read would pile up registrations on the token).
        var stopped = Task.Delay(Timeout.InfiniteTimeSpan, time, stoppingToken);
        while (!stoppingToken.IsCancellationRequested)
        {
            try
            {
                if (!groupReady)
                {
                    await queue.EnsureGroupAsync();
                    groupReady = true;
                }
                if (time.GetUtcNow() >= nextClaim)
                {
                    foreach (var entry in await queue.ClaimIdleAsync(_consumer, _options.ClaimIdleTime, _options.MaxConcurrentJobs))
                    {
                        Start(entry, firstDelivery: false, stoppingToken);
                    }
                    nextClaim = time.GetUtcNow() + (_options.ClaimIdleTime / 2);
                }
                var block = nextClaim - time.GetUtcNow();
                block = block < _options.ReadBlockTime ? block : _options.ReadBlockTime;
                block = block > TimeSpan.FromMilliseconds(10) ? block : TimeSpan.FromMilliseconds(10);
                if (_runs.Count >= _options.MaxConcurrentJobs)
                {
                    await Task.WhenAny(Task.WhenAny(_runs.Values), Task.Delay(block, time, stoppingToken));
                    continue;
                }
                // A blocking read cannot be cancelled: on shutdown it is left to end with its connection, and whatever it
                // delivered is claimed by another runner once idle, as after a crash.
                var read = queue.ReadNewAsync(_consumer, _options.MaxConcurrentJobs - _runs.Count, block);
                await Task.WhenAny(read, stopped);
                if (stoppingToken.IsCancellationRequested) { break; }
                foreach (var entry in await read) { Start(entry, firstDelivery: true, stoppingToken); }
            }
            catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
            {
                break;
            }
            catch (Exception e) when (e is RedisException or TimeoutException)
            {
                LogRedisTrouble(logger, e);
                try { await Task.Delay(ErrorBackoff, time, stoppingToken); }
                catch (OperationCanceledException) { break; }
            }
        }
        // Jobs in progress stop where they are, unacknowledged: another runner takes them over once they are idle.
        await Task.WhenAll(_runs.Values);
        await renewing;
    }

    /// <summary>
    /// Runs the entry's job. A first delivery (a new entry, not one claimed from another runner) means no runner has worked
    /// on the job before: each job has one entry, and XREADGROUP hands a new entry to one consumer once.
    /// </summary>
    private void Start(DeliveredEntry entry, bool firstDelivery, CancellationToken stoppingToken)
    {
        if (_runs.ContainsKey(entry.Id)) { return; }
        var gate = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        _runs[entry.Id] = RunEntryAsync(entry, firstDelivery, gate.Task, stoppingToken);
        gate.SetResult();
    }

    private async Task RunEntryAsync(DeliveredEntry entry, bool firstDelivery, Task gate, CancellationToken stoppingToken)
    {
        await gate;
        var jobId = entry.Fields.FirstOrDefault(f => f.Name == "jobId").Value.ToString();
        var token = Guid.NewGuid().ToString("N");
        try
        {
            if (!HeadlessJobStore.IsId(jobId))
            {
                await queue.AcknowledgeAsync(entry.Id);
                return;
            }
            // Held by a live runner (it renews its entry too, so this entry goes back to it): leave it alone.
            if (!await queue.TryLockAsync(jobId, token, _options.ClaimIdleTime)) { return; }
            _locks[jobId] = token;
            await RunJobAsync(entry.Id, jobId, firstDelivery, stoppingToken);
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
        }
        catch (Exception e) when (e is RedisException or FirestoreException or HttpRequestException or InvalidOperationException or IOException or TimeoutException)
        {
            // Unacknowledged: the entry is claimed again once idle and the job resumes from its stored phase.
            LogJobBroke(logger, e, jobId);
        }
        finally
        {
            if (_locks.TryRemove(jobId, out _)) { await ReleaseQuietlyAsync(jobId, token); }
            _runs.TryRemove(entry.Id, out _);
        }
    }

    private async Task RunJobAsync(string entryId, string jobId, bool firstDelivery, CancellationToken stoppingToken)
    {
        if (((firstDelivery ? jobs.TakeCreated(jobId) : null) ?? await jobs.GetAsync(jobId, stoppingToken)) is not { } job)
        {
            await queue.AcknowledgeAsync(entryId);
            return;
        }
        if (!job.IsFinished)
        {
            job = job with { Attempts = job.Attempts + 1 };
            using var deadline = CancellationTokenSource.CreateLinkedTokenSource(stoppingToken);
            var left = job.Deadline - time.GetUtcNow();
            deadline.CancelAfter(left > TimeSpan.Zero ? left : TimeSpan.Zero);
            var progress = new JobProgress(jobId, job, firstDelivery);
            try
            {
                await AdvanceAsync(progress, deadline.Token, stoppingToken);
            }
            catch (OperationCanceledException) when (!stoppingToken.IsCancellationRequested)
            {
                if (progress.Job.Phase == JobPhases.AgentRunning) { await turns.CancelAsync(progress.Job.ProjectId); }
                if (progress.Job is { Phase: JobPhases.Exporting, ExportId: { } exportId }
                    && await exports.GetAsync(progress.Job.ProjectId, exportId, stoppingToken) is { } export)
                {
                    // Past the deadline nobody waits for the video: its render pod is freed for other exports.
                    await launcher.CancelAsync(export, stoppingToken);
                }
                await FailAsync(progress, $"The job ran past its deadline ({progress.Job.Deadline:u}, {_options.JobTimeout.TotalMinutes:0.##} minutes after it was created).");
            }
            if (stoppingToken.IsCancellationRequested) { return; }
            job = progress.Job;
            if (progress.Announced is { } announced)
            {
                await webhooks.ScheduleAsync(announced);
                await CleanUpAsync(job);
                await queue.AcknowledgeAsync(entryId);
                LogFinished(logger, jobId, job.Status, job.Attempts);
                return;
            }
        }
        await AnnounceAndCleanUpAsync(jobId, job);
        await queue.AcknowledgeAsync(entryId);
        LogFinished(logger, jobId, job.Status, job.Attempts);
    }

    /// <summary>Moves the job from its stored phase to complete or failed; returns early only when this process is stopping.</summary>
    private async Task AdvanceAsync(JobProgress progress, CancellationToken cancellationToken, CancellationToken stoppingToken)
    {
        var job = progress.Job;
        // A new job's turn reads the project itself, and a session start below reads it for its head.
        if (!progress.FirstDelivery && await projects.GetAsync(job.OwnerId, job.ProjectId, cancellationToken) is null)
        {
            await FailAsync(progress, "The project was deleted.");
            return;
        }
        var agentRunning = Task.CompletedTask;
        if (job.Phase is JobPhases.Queued or JobPhases.Starting)
        {
            if (await sessions.GetAsync(job.ProjectId) is { Status: SessionStatus.Ready })
            {
                // Reused: saved with the next phase; the turn checks the session again as it begins.
                progress.Enter(JobPhases.Starting, time);
            }
            else
            {
                // A session start takes seconds and is worth showing.
                if (await projects.GetAsync(job.OwnerId, job.ProjectId, cancellationToken) is not { } project)
                {
                    await FailAsync(progress, "The project was deleted.");
                    return;
                }
                progress.Enter(JobPhases.Starting, time, j => j with { StartedSession = true });
                await progress.SaveAsync(jobs);
                try
                {
                    await sessions.StartAsync(job.ProjectId, job.OwnerId, project.HeadSnapshotId, cancellationToken);
                }
                catch (Exception e) when (e is SessionStartException or TimeoutException)
                {
                    await FailAsync(progress, $"The session could not start: {e.Message}");
                    return;
                }
            }
            // Saved while the turn begins. Should this process die before it lands, the job is taken over from its start and
            // finds the turn's messages all the same (the check below).
            agentRunning = progress.EnterAsync(jobs, JobPhases.AgentRunning, time);
        }
        if (progress.Job.Phase == JobPhases.AgentRunning)
        {
            // Only a job some runner worked on before can have a finished turn.
            if (!progress.FirstDelivery
                && await messages.GetAsync(job.ProjectId, job.AssistantMessageId, cancellationToken) is { Status: MessageStatuses.Complete } done)
            {
                // The agent finished before the runner that started the job died: its edits are on the pod, to be synced.
                await agentRunning;
                await progress.EnterAsync(jobs, JobPhases.Syncing, time, j => j with { Reply = done.Content });
            }
            else
            {
                var result = await RunTurnAsync(progress, cancellationToken);
                // Its failure breaks the job off, to be taken over from the phase stored before it.
                await agentRunning;
                if (stoppingToken.IsCancellationRequested || result.Interrupted) { return; }
                if (!result.Succeeded)
                {
                    await FailAsync(progress, result.FailureDetail ?? "The agent's turn ended without a snapshot.");
                    return;
                }
                await CompleteOrExportAsync(progress, j => j with { SnapshotId = result.SnapshotId, Reply = result.Assistant?.Content });
            }
        }
        if (progress.Job.Phase == JobPhases.Syncing)
        {
            var snapshotId = await SyncAsync(progress.Job, cancellationToken);
            if (snapshotId is null)
            {
                await FailAsync(progress, "The agent's edits could not be saved as a snapshot.");
                return;
            }
            await CompleteOrExportAsync(progress, j => j with { SnapshotId = snapshotId });
        }
        if (progress.Job.Phase == JobPhases.Exporting)
        {
            await ExportAsync(progress, cancellationToken);
        }
    }

    /// <summary>
    /// The job's end once its snapshot is saved, or, when it asked for an export, the exporting phase. That phase is stored,
    /// with the export's id, before the export is started: a job resumed from it waits for that export and never starts a
    /// second. Jobs without an export make no extra write.
    /// </summary>
    private Task CompleteOrExportAsync(JobProgress progress, Func<JobDocument, JobDocument> change) =>
        progress.Job.ExportCodec is null
            ? FinishAsync(progress, JobPhases.Complete, change)
            : progress.EnterAsync(jobs, JobPhases.Exporting, time, j => change(j) with { ExportId = Guid.NewGuid().ToString("D") });

    /// <summary>
    /// Renders the job's snapshot through the studio's export path (the same record, queue, per-user limit and worker) and
    /// waits for it, within the job's deadline. An owner at their limit of unfinished exports waits for a slot.
    /// </summary>
    private async Task ExportAsync(JobProgress progress, CancellationToken cancellationToken)
    {
        var job = progress.Job;
        var exportId = job.ExportId ?? throw new InvalidOperationException($"Job {progress.JobId} is exporting without an export id.");
        // The render runs in a render pod of its own from the stored snapshot: a session the job started is not needed for it.
        await CleanUpAsync(job);
        var pollInterval = exportOptions.Value.PollInterval;
        var export = await exports.GetAsync(job.ProjectId, exportId, cancellationToken);
        if (export is null)
        {
            while ((export = await launcher.TryStartAsync(exportId, job.ProjectId, job.OwnerId, job.SnapshotId!, null, job.ExportCodec!, null, cancellationToken)) is null)
            {
                await Task.Delay(pollInterval, time, cancellationToken);
            }
        }
        else
        {
            await launcher.EnsureQueuedAsync(export);
        }
        // The record as often as the export worker writes its progress: each read is a Firestore request.
        while (!ExportStatuses.IsFinal(export.Status))
        {
            await Task.Delay(exportOptions.Value.ProgressInterval, time, cancellationToken);
            if (await exports.GetAsync(job.ProjectId, exportId, cancellationToken) is not { } current)
            {
                await FailAsync(progress, "The export was deleted before it finished.");
                return;
            }
            export = current;
        }
        // Listed again: a render takes minutes, and a webhook registered meanwhile should hear how the job ended.
        progress.Webhooks = webhooks.ListWebhooksAsync(job.OwnerId, CancellationToken.None);
        switch (export.Status)
        {
            case ExportStatuses.Complete:
                var exported = await ExportEventAsync(progress.JobId, job, export, cancellationToken);
                await FinishAsync(progress, JobPhases.Complete, j => j, exported);
                break;
            case ExportStatuses.Canceled:
                await FailAsync(progress, "The export was canceled before it finished.");
                break;
            default:
                await FailAsync(progress, $"The export failed: {export.Error ?? "the render pod gave no reason."}");
                break;
        }
    }

    private async Task<ExportEvent> ExportEventAsync(string jobId, JobDocument job, Export export, CancellationToken cancellationToken)
    {
        var link = await ExportLauncher.DownloadLinkAsync(links, export, cancellationToken);
        return new ExportEvent(jobId, job.ProjectId, export.Id, export.SnapshotId, export.Codec, export.Size, export.DurationMs, link.Url, link.ExpiresAt,
            JobsApi.StatusUrl(jobId));
    }

    /// <summary>The requirements as a chat turn, queued behind any turn in progress (a person's in the studio, or another job's).</summary>
    private async Task<TurnResult> RunTurnAsync(JobProgress progress, CancellationToken cancellationToken)
    {
        var job = progress.Job;
        var request = new TurnRequest(job.Requirements, ClientMessageId: progress.JobId, job.UserMessageId, job.AssistantMessageId,
            new MessageSource(MessageSource.Api, job.ClientId, job.ClientName),
            assistant =>
            {
                // Listed beside the sync, so the job's end is stored with its deliveries without waiting for the list.
                progress.Webhooks ??= webhooks.ListWebhooksAsync(job.OwnerId, CancellationToken.None);
                // Not awaited by the turn: the next change (the job's end) follows it in order, and saves it if it has not.
                _ = progress.EnterAsync(jobs, JobPhases.Syncing, time, j => j with { Reply = assistant.Content }, savedAfter: SyncingSavedAfter);
                return Task.CompletedTask;
            });
        Task<TurnResult>? run;
        while ((run = await turns.TryRunAsync(job.ProjectId, job.OwnerId, request)) is null)
        {
            await Task.Delay(TurnPoll, time, cancellationToken);
        }
        return await run.WaitAsync(cancellationToken);
    }

    /// <summary>A resumed job's sync: the live session's files, or, when the session has ended (its final sync ran), the head.</summary>
    private async Task<string?> SyncAsync(JobDocument job, CancellationToken cancellationToken)
    {
        if (await sessions.GetAsync(job.ProjectId) is { Status: SessionStatus.Ready } session)
        {
            var sync = new SyncJob(Guid.NewGuid().ToString("D"), SyncKinds.Sync, job.ProjectId, session.SessionId, SyncReasons.AgentTurn, MessageId: job.AssistantMessageId);
            var result = await syncJobs.RunAsync(sync, sessionOptions.Value.TurnSyncTimeout, cancellationToken);
            return result.Status == SyncEvent.Done ? result.SnapshotId : null;
        }
        return (await projects.GetAsync(job.OwnerId, job.ProjectId, cancellationToken))?.HeadSnapshotId;
    }

    private Task FailAsync(JobProgress progress, string error) => FinishAsync(progress, JobPhases.Failed, j => j with { Error = error });

    /// <summary>
    /// Ends the job and, in the same commit, creates the deliveries announcing it: a job is never complete without them,
    /// nor announced without being complete, so a process that dies between the two cannot send a second, different end.
    /// </summary>
    /// <remarks>A complete job with an export also announces <c>export.completed</c>, in the same commit.</remarks>
    private async Task FinishAsync(JobProgress progress, string phase, Func<JobDocument, JobDocument> change, ExportEvent? exported = null)
    {
        var listed = await (progress.Webhooks ?? webhooks.ListWebhooksAsync(progress.Job.OwnerId, CancellationToken.None));
        await progress.EnterAsync(jobs, phase, time, change, job =>
        {
            var ended = webhooks.Prepare(listed, progress.JobId, job.WebhookId, EventType(job), JobEvent.From(progress.JobId, job));
            return exported is null || job.Status != JobStatuses.Complete
                ? ended
                : new Announcement([.. webhooks.Prepare(listed, progress.JobId, job.WebhookId, WebhookEvents.ExportCompleted, exported).Deliveries, .. ended.Deliveries]);
        });
    }

    private static string EventType(JobDocument job) => job.Status == JobStatuses.Complete ? WebhookEvents.JobCompleted : WebhookEvents.JobFailed;

    /// <summary>Announces an end stored before (once per webhook, however often this runs), then cleans up.</summary>
    private async Task AnnounceAndCleanUpAsync(string jobId, JobDocument job)
    {
        if (job is { Status: JobStatuses.Complete, ExportId: { } exportId }
            && await exports.GetAsync(job.ProjectId, exportId, CancellationToken.None) is { Status: ExportStatuses.Complete } export)
        {
            var exported = await ExportEventAsync(jobId, job, export, CancellationToken.None);
            await webhooks.AnnounceAsync(job.OwnerId, jobId, job.WebhookId, WebhookEvents.ExportCompleted, exported, CancellationToken.None);
        }
        await webhooks.AnnounceAsync(job.OwnerId, jobId, job.WebhookId, EventType(job), JobEvent.From(jobId, job), CancellationToken.None);
        await CleanUpAsync(job);
    }

    /// <summary>Stops the session the job started itself.</summary>
    private async Task CleanUpAsync(JobDocument job)
    {
        // Stopped as DELETE .../session stops it (final sync first), apart from the runner: a stop that fails leaves the
        // session to the idle stop, and a process that dies first leaves it to this step when the job is taken over.
        if (job.StartedSession && await sessions.GetAsync(job.ProjectId) is { Status: SessionStatus.Ready } session)
        {
            await stops.BeginAsync(session);
        }
    }

    /// <summary>Keeps this runner's entries and job locks fresh while their jobs run.</summary>
    private async Task RenewAsync(CancellationToken stoppingToken)
    {
        using var timer = new PeriodicTimer(_options.ClaimIdleTime / 3, time);
        try
        {
            while (await timer.WaitForNextTickAsync(stoppingToken))
            {
                try
                {
                    await queue.TouchAsync(_consumer, [.. _runs.Keys]);
                    foreach (var (jobId, token) in _locks) { await queue.RenewLockAsync(jobId, token, _options.ClaimIdleTime); }
                }
                catch (RedisException e)
                {
                    LogRedisTrouble(logger, e);
                }
            }
        }
        catch (OperationCanceledException)
        {
            // Stopping: the entries go idle and are claimed by a runner that lives.
        }
    }

    private async Task ReleaseQuietlyAsync(string jobId, string token)
    {
        try
        {
            await queue.ReleaseLockAsync(jobId, token);
        }
        catch (RedisException)
        {
            // The lock lapses by itself.
        }
    }

    /// <summary>The job as it stands, saved at every phase change.</summary>
    private sealed class JobProgress(string jobId, JobDocument job, bool firstDelivery)
    {
        public string JobId { get; } = jobId;

        public JobDocument Job { get; private set; } = job;

        public bool FirstDelivery { get; } = firstDelivery;

        /// <summary>The owner's webhooks, listed as the agent finished; the job's end is announced to them.</summary>
        public Task<IReadOnlyList<FirestoreDocument<WebhookDocument>>>? Webhooks { get; set; }

        /// <summary>The deliveries stored with the job's end, to be scheduled; null until then.</summary>
        public Announcement? Announced { get; private set; }

        // The turn's own callback (syncing) can race the runner's end of the job (a deadline): changes are saved one
        // after the other, and a finished job never moves again.
        private readonly Lock _gate = new();
        private Task _saved = Task.CompletedTask;
        private TaskCompletionSource? _superseded;

        /// <summary>
        /// Enters the phase and saves it, with the deliveries <paramref name="announce"/> makes of the job's end. With
        /// <paramref name="savedAfter"/>, the save waits that long and is left to the next change if one comes first.
        /// </summary>
        public Task EnterAsync(HeadlessJobStore store, string phase, TimeProvider clock, Func<JobDocument, JobDocument>? change = null,
            Func<JobDocument, Announcement>? announce = null, TimeSpan? savedAfter = null)
        {
            lock (_gate)
            {
                _superseded?.TrySetResult();
                _superseded = savedAfter is null ? null : new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
                _saved = AfterAsync(_saved, store, phase, clock, change, announce, savedAfter, _superseded?.Task);
                return _saved;
            }
        }

        private async Task AfterAsync(Task previous, HeadlessJobStore store, string phase, TimeProvider clock, Func<JobDocument, JobDocument>? change,
            Func<JobDocument, Announcement>? announce, TimeSpan? savedAfter, Task? superseded)
        {
            // The earlier change's failure is its own caller's to see.
            await previous.ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
            if (Job.IsFinished) { return; }
            Enter(phase, clock, change);
            if (savedAfter is { } wait && superseded is not null
                && await Task.WhenAny(superseded, Task.Delay(wait, clock)) == superseded)
            {
                return;
            }
            var announcement = announce?.Invoke(Job);
            // Entered at once, saved from the thread pool: a caller that goes on beside the save (the turn beginning) does not
            // wait for the document's serialization and the request's sending.
            await Task.Yield();
            await store.SaveAsync(JobId, Job, announcement?.Writes ?? [], CancellationToken.None);
            Announced = announcement;
        }

        /// <summary>Enters the phase without saving it: the next save stores it with its time.</summary>
        public void Enter(string phase, TimeProvider clock, Func<JobDocument, JobDocument>? change = null)
        {
            var next = Job.Enter(phase, clock.GetUtcNow());
            Job = change is null ? next : change(next);
        }

        public Task SaveAsync(HeadlessJobStore store) => store.SaveAsync(JobId, Job, [], CancellationToken.None);
    }

    [LoggerMessage(EventId = 5001, Level = LogLevel.Warning, Message = "Redis trouble in the headless runner; retrying")]
    private static partial void LogRedisTrouble(ILogger logger, Exception exception);

    [LoggerMessage(EventId = 5002, Level = LogLevel.Error, Message = "Headless job {JobId} broke off; it resumes once its entry is claimed again")]
    private static partial void LogJobBroke(ILogger logger, Exception exception, string jobId);

    [LoggerMessage(EventId = 5003, Level = LogLevel.Information, Message = "Headless job {JobId} ended {Status} after {Attempts} attempt(s)")]
    private static partial void LogFinished(ILogger logger, string jobId, string status, int attempts);
}
