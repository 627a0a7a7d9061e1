using System.Globalization;
using StoryDream.Api.Http;
using StoryDream.GoogleCloud.Firestore;
using StoryDream.Snapshots;

namespace StoryDream.Api.Projects;

/// <summary>
/// <c>projects/{id}</c> in Firestore. The version (ETag) is the document's update time. <c>createdAt</c> and
/// <c>updatedAt</c> come from this process's clock (so a write can answer with them without reading back); a head
/// moved by the snapshot store sets <c>updatedAt</c> to the server's time.
/// </summary>
internal sealed class FirestoreProjectStore(FirestoreClient firestore, TimeProvider time) : IProjectStore
{
    private const int MaxUpdateAttempts = 5;

    public Task<Project> CreateAsync(NewProject project, string headSnapshotId, int fileCount, long totalBytes, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(project);
        return CreateAsync(project, headSnapshotId,
            SnapshotDocuments.TemplateEntry(project.Id, project.TemplateId, headSnapshotId, fileCount, totalBytes), cancellationToken);
    }

    public Task<Project> CreateForkAsync(NewProject project, SnapshotManifest tree, string message, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(project);
        ArgumentNullException.ThrowIfNull(tree);
        return CreateAsync(project, tree.Id,
            SnapshotDocuments.ForkEntry(project.Id, tree.Id, message, tree.FileCount, tree.TotalBytes), cancellationToken);
    }

    private async Task<Project> CreateAsync(NewProject project, string headSnapshotId, Write firstEntry, CancellationToken cancellationToken)
    {
        var now = Now();
        var document = new ProjectDocument(project.OwnerId, project.Name, project.Description, project.TemplateId, headSnapshotId, null,
            VideoSettingsDocument.From(project.VideoSettings), null, now, now, null, null);
        var result = await firestore.CommitAsync([Write.Create(SnapshotDocuments.Project(project.Id), document), firstEntry], cancellationToken);
        return document.ToProject(project.Id, result.UpdateTimes[0] ?? result.CommitTime);
    }

    public async Task<Project?> GetAsync(string ownerId, string projectId, CancellationToken cancellationToken)
    {
        var document = await firestore.GetAsync<ProjectDocument>(SnapshotDocuments.Project(projectId), cancellationToken);
        return document is { Data.DeletedAt: null } && document.Data.OwnerId == ownerId ? document.Data.ToProject(projectId, document.UpdateTime) : null;
    }

    public async Task<(IReadOnlyList<Project> Items, PageCursor? Next)> ListAsync(string ownerId, int pageSize, PageCursor? after, CancellationToken cancellationToken)
    {
        // Needs the composite index (ownerId ASC, updatedAt DESC, __name__ DESC) in production; the emulator needs none.
        var query = StructuredQuery.Collection(SnapshotDocuments.ProjectsCollection)
            .Where("ownerId", QueryOperator.Equal, ownerId)
            .OrderByDescending(SnapshotDocuments.UpdatedAtField)
            .OrderByDescending(StructuredQuery.DocumentId)
            .Limit(pageSize + 1);
        if (after is not null)
        {
            query = query.StartAfter(ParseTime(after.Position), new FirestoreReference(SnapshotDocuments.Project(after.Id)));
        }
        var documents = await firestore.RunQueryAsync<ProjectDocument>(query, cancellationToken);
        var page = documents.Take(pageSize).ToList();
        var next = documents.Count > pageSize ? new PageCursor(FormatTime(page[^1].Data.UpdatedAt!.Value), page[^1].Id) : null;
        // A project being deleted disappears from its page rather than shifting the cursor.
        return (page.Where(d => d.Data.DeletedAt is null).Select(d => d.Data.ToProject(d.Id, d.UpdateTime)).ToList(), next);
    }

    public async Task<UpdateResult> UpdateAsync(string ownerId, string projectId, ProjectChanges changes, IReadOnlyList<string> ifMatch, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(changes);
        ArgumentNullException.ThrowIfNull(ifMatch);
        var path = SnapshotDocuments.Project(projectId);
        for (var attempt = 1; ; attempt++)
        {
            var current = await firestore.GetAsync<ProjectDocument>(path, cancellationToken);
            if (current is not { Data.DeletedAt: null } || current.Data.OwnerId != ownerId) { return new(UpdateOutcome.NotFound); }
            var version = Version(current.UpdateTime);
            if (ifMatch.Count > 0 && !ifMatch.Contains("*") && !ifMatch.Contains(version)) { return new(UpdateOutcome.PreconditionFailed); }

            var fields = new Dictionary<string, object?>(StringComparer.Ordinal);
            if (changes.Name is { } name) { fields["name"] = name; }
            if (changes.Description is { } description) { fields["description"] = description.Length == 0 ? null : description; }
            if (changes.VideoSettings is { } settings) { fields["videoSettings"] = VideoSettingsDocument.From(settings); }
            if (fields.Count == 0) { return new(UpdateOutcome.Updated, current.Data.ToProject(projectId, current.UpdateTime)); }
            var now = Now();
            fields[SnapshotDocuments.UpdatedAtField] = now;

            try
            {
                // The write applies only to the version just read and checked, so the If-Match check and the write are atomic.
                var result = await firestore.CommitAsync(
                [
                    Write.Patch(path, fields).WithPrecondition(Precondition.UpdatedAt(current.UpdateTime)),
                ], cancellationToken);
                var updated = current.Data with
                {
                    Name = changes.Name ?? current.Data.Name,
                    Description = changes.Description is null ? current.Data.Description : changes.Description.Length == 0 ? null : changes.Description,
                    VideoSettings = changes.VideoSettings is null ? current.Data.VideoSettings : VideoSettingsDocument.From(changes.VideoSettings),
                    UpdatedAt = now,
                };
                return new(UpdateOutcome.Updated, updated.ToProject(projectId, result.UpdateTimes[0] ?? result.CommitTime));
            }
            catch (FirestoreException e) when (e.Status == FirestoreStatus.FailedPrecondition)
            {
                // Someone else wrote in between. With If-Match the client's version is stale now; without, try again.
                if (ifMatch.Count > 0 && !ifMatch.Contains("*")) { return new(UpdateOutcome.PreconditionFailed); }
                if (attempt == MaxUpdateAttempts) { throw; }
            }
        }
    }

    public async Task<bool> MarkDeletingAsync(string ownerId, string projectId, CancellationToken cancellationToken)
    {
        var path = SnapshotDocuments.Project(projectId);
        var current = await firestore.GetAsync<ProjectDocument>(path, cancellationToken);
        if (current is null || current.Data.OwnerId != ownerId) { return false; }
        if (current.Data.DeletedAt is not null) { return true; }
        try
        {
            await firestore.PatchAsync(path, new Dictionary<string, object?> { ["deletedAt"] = Now() }, Precondition.MustExist, cancellationToken);
            return true;
        }
        catch (FirestoreException e) when (e.Status == FirestoreStatus.NotFound)
        {
            return false;
        }
    }

    public async Task SetAgentSessionIdAsync(string projectId, string agentSessionId, CancellationToken cancellationToken) =>
        await PatchExistingAsync(projectId, new Dictionary<string, object?> { ["agentSessionId"] = agentSessionId }, cancellationToken);

    public async Task SetConversationSummaryAsync(string projectId, ConversationSummary summary, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(summary);
        await PatchExistingAsync(projectId,
            new Dictionary<string, object?> { ["conversationSummary"] = new ConversationSummaryDocument(summary.Text, summary.ThroughMessageId) },
            cancellationToken);
    }

    /// <summary>Chat bookkeeping: not a change the user made, so <c>updatedAt</c> stays.</summary>
    private Task<GoogleCloud.Firestore.CommitResult> PatchExistingAsync(string projectId, Dictionary<string, object?> fields, CancellationToken cancellationToken) =>
        firestore.CommitAsync([Write.Patch(SnapshotDocuments.Project(projectId), fields).WithPrecondition(Precondition.MustExist)], cancellationToken);

    public Task DeleteAsync(string projectId, CancellationToken cancellationToken) =>
        firestore.DeleteAsync(SnapshotDocuments.Project(projectId), cancellationToken: cancellationToken);

    /// <summary>Firestore keeps microseconds; so does this, so a written time equals the one read back.</summary>
    private DateTimeOffset Now()
    {
        var ticks = time.GetUtcNow().UtcTicks;
        return new DateTimeOffset(ticks - (ticks % 10), TimeSpan.Zero);
    }

    public bool IsValidCursor(PageCursor cursor)
    {
        ArgumentNullException.ThrowIfNull(cursor);
        return ProjectIds.IsValid(cursor.Id) && TryParseTime(cursor.Position, out _);
    }

    /// <summary>The ETag form of an update time: its ticks, exact and opaque.</summary>
    public static string Version(DateTimeOffset updateTime) => updateTime.UtcTicks.ToString(CultureInfo.InvariantCulture);

    internal static string FormatTime(DateTimeOffset time) => time.ToUniversalTime().ToString("O", CultureInfo.InvariantCulture);

    internal static bool TryParseTime(string text, out DateTimeOffset time) =>
        DateTimeOffset.TryParseExact(text, "O", CultureInfo.InvariantCulture, DateTimeStyles.None, out time);

    private static DateTimeOffset ParseTime(string text) => TryParseTime(text, out var time) ? time : throw new FormatException($"'{text}' is not a cursor time.");

    internal sealed record VideoSettingsDocument(int Width, int Height, int Fps, int DurationInFrames)
    {
        public static VideoSettingsDocument From(VideoSettings settings) => new(settings.Width, settings.Height, settings.Fps, settings.DurationInFrames);
    }

    internal sealed record ConversationSummaryDocument(string Text, string? ThroughMessageId);

    /// <summary>The stored form of DESIGN section 2, plus <c>templateId</c> and <c>deletedAt</c> (set while a delete runs).</summary>
    internal sealed record ProjectDocument(
        string OwnerId,
        string Name,
        string? Description,
        string? TemplateId,
        string HeadSnapshotId,
        string? AgentSessionId,
        VideoSettingsDocument VideoSettings,
        ConversationSummaryDocument? ConversationSummary,
        DateTimeOffset? CreatedAt,
        DateTimeOffset? UpdatedAt,
        DateTimeOffset? LastOpenedAt,
        DateTimeOffset? DeletedAt)
    {
        public Project ToProject(string id, DateTimeOffset updateTime) => new(
            id, OwnerId, Name, Description, TemplateId, HeadSnapshotId,
            new VideoSettings(VideoSettings.Width, VideoSettings.Height, VideoSettings.Fps, VideoSettings.DurationInFrames),
            CreatedAt ?? updateTime, UpdatedAt ?? updateTime, LastOpenedAt, DeletedAt is not null, Version(updateTime), AgentSessionId,
            ConversationSummary is { ThroughMessageId: { } through } summary ? new ConversationSummary(summary.Text, through) : null);
    }
}
