using StoryDream.GoogleCloud.Firestore;
using StoryDream.Tests.Infrastructure;

namespace StoryDream.Tests.GoogleCloud.Firestore;

public sealed class FirestoreClientTests(TestServers servers) : IAsyncLifetime
{
    private FirestoreEmulatorProject _project = null!;

    private FirestoreClient Client => _project.Client;

    private static CancellationToken Token => TestContext.Current.CancellationToken;

    public async ValueTask InitializeAsync() => _project = await FirestoreEmulatorProject.CreateAsync(servers);

    public ValueTask DisposeAsync() => _project.DisposeAsync();

    [Fact(Timeout = FirestoreEmulatorProject.TestTimeout)]
    public async Task GetAsync_MissingDocument_ReturnsNull()
    {
        Assert.Null(await Client.GetAsync<Note>("notes/missing", Token));
    }

    [Fact(Timeout = FirestoreEmulatorProject.TestTimeout)]
    public async Task CreateAsync_NewDocument_GetReturnsDataAndVersion()
    {
        var updateTime = await Client.CreateAsync("notes/n1", new Note("hello", 1), Token);

        var document = await Client.GetAsync<Note>("notes/n1", Token);

        Assert.NotNull(document);
        Assert.Equal("notes/n1", document.Path);
        Assert.Equal("n1", document.Id);
        Assert.Equal(new Note("hello", 1), document.Data);
        Assert.Equal(updateTime, document.UpdateTime);
        Assert.Equal(document.CreateTime, document.UpdateTime);
    }

    [Fact(Timeout = FirestoreEmulatorProject.TestTimeout)]
    public async Task CreateAsync_ExistingDocument_ThrowsAlreadyExistsAndKeepsIt()
    {
        await Client.CreateAsync("notes/n1", new Note("first", 1), Token);

        var error = await Assert.ThrowsAsync<FirestoreException>(() => Client.CreateAsync("notes/n1", new Note("second", 2), Token));

        Assert.Equal(FirestoreStatus.AlreadyExists, error.Status);
        Assert.Equal("first", (await Client.GetAsync<Note>("notes/n1", Token))!.Data.Text);
    }

    [Fact(Timeout = FirestoreEmulatorProject.TestTimeout)]
    public async Task SetAsync_ExistingDocument_ReplacesEveryField()
    {
        await Client.SetAsync("things/t1", new Dictionary<string, object?> { ["a"] = 1, ["b"] = 2 }, cancellationToken: Token);

        await Client.SetAsync("things/t1", new Dictionary<string, object?> { ["c"] = 3 }, cancellationToken: Token);

        var document = await Client.GetAsync<Dictionary<string, int>>("things/t1", Token);
        Assert.Equal(new Dictionary<string, int> { ["c"] = 3 }, document!.Data);
    }

    [Fact(Timeout = FirestoreEmulatorProject.TestTimeout)]
    public async Task PatchAsync_GivenFieldPaths_ChangesOnlyThoseFields()
    {
        await Client.CreateAsync("projects/p1", new Project("Old", "owner-1", new VideoSettings(1920, 1080, 30)), Token);

        await Client.PatchAsync("projects/p1", new Dictionary<string, object?> { ["name"] = "New", ["videoSettings.fps"] = 60 }, Precondition.MustExist, Token);

        var document = await Client.GetAsync<Project>("projects/p1", Token);
        Assert.Equal(new Project("New", "owner-1", new VideoSettings(1920, 1080, 60)), document!.Data);
    }

    [Fact(Timeout = FirestoreEmulatorProject.TestTimeout)]
    public async Task PatchAsync_QuotedFieldPath_WritesKeyWithDotsAndSlashes()
    {
        await Client.PatchAsync("trees/t1", new Dictionary<string, object?> { ["files.`src/a.tsx`"] = 12 }, cancellationToken: Token);

        var document = await Client.GetAsync<Dictionary<string, Dictionary<string, int>>>("trees/t1", Token);
        Assert.Equal(12, document!.Data["files"]["src/a.tsx"]);
    }

    [Fact(Timeout = FirestoreEmulatorProject.TestTimeout)]
    public async Task PatchAsync_MissingDocumentWithoutPrecondition_CreatesIt()
    {
        await Client.PatchAsync("notes/n1", new Dictionary<string, object?> { ["text"] = "made by patch" }, cancellationToken: Token);

        Assert.Equal("made by patch", (await Client.GetAsync<Note>("notes/n1", Token))!.Data.Text);
    }

    [Fact(Timeout = FirestoreEmulatorProject.TestTimeout)]
    public async Task PatchAsync_MissingDocumentWithMustExist_ThrowsNotFound()
    {
        var error = await Assert.ThrowsAsync<FirestoreException>(
            () => Client.PatchAsync("notes/n1", new Dictionary<string, object?> { ["text"] = "x" }, Precondition.MustExist, Token));

        Assert.Equal(FirestoreStatus.NotFound, error.Status);
        Assert.Null(await Client.GetAsync<Note>("notes/n1", Token));
    }

    [Fact(Timeout = FirestoreEmulatorProject.TestTimeout)]
    public async Task SetAsync_StaleUpdateTime_ThrowsFailedPreconditionAndKeepsNewerData()
    {
        var firstVersion = await Client.CreateAsync("notes/n1", new Note("v1", 1), Token);
        var secondVersion = await Client.SetAsync("notes/n1", new Note("v2", 2), Precondition.UpdatedAt(firstVersion), Token);

        var error = await Assert.ThrowsAsync<FirestoreException>(
            () => Client.SetAsync("notes/n1", new Note("v3 from a stale read", 3), Precondition.UpdatedAt(firstVersion), Token));

        Assert.Equal(FirestoreStatus.FailedPrecondition, error.Status);
        var document = await Client.GetAsync<Note>("notes/n1", Token);
        Assert.Equal("v2", document!.Data.Text);
        Assert.Equal(secondVersion, document.UpdateTime);
    }

    [Fact(Timeout = FirestoreEmulatorProject.TestTimeout)]
    public async Task SetAsync_MustNotExistOnExistingDocument_ThrowsAlreadyExists()
    {
        await Client.CreateAsync("notes/n1", new Note("v1", 1), Token);

        var error = await Assert.ThrowsAsync<FirestoreException>(
            () => Client.SetAsync("notes/n1", new Note("v2", 2), Precondition.MustNotExist, Token));

        Assert.Equal(FirestoreStatus.AlreadyExists, error.Status);
    }

    [Fact(Timeout = FirestoreEmulatorProject.TestTimeout)]
    public async Task DeleteAsync_ExistingDocument_RemovesIt()
    {
        await Client.CreateAsync("notes/n1", new Note("bye", 1), Token);

        await Client.DeleteAsync("notes/n1", Precondition.MustExist, Token);

        Assert.Null(await Client.GetAsync<Note>("notes/n1", Token));
    }

    [Fact(Timeout = FirestoreEmulatorProject.TestTimeout)]
    public async Task DeleteAsync_MissingDocument_SucceedsUnlessItMustExist()
    {
        await Client.DeleteAsync("notes/never", cancellationToken: Token);

        var error = await Assert.ThrowsAsync<FirestoreException>(() => Client.DeleteAsync("notes/never", Precondition.MustExist, Token));
        Assert.Equal(FirestoreStatus.NotFound, error.Status);
    }

    [Fact(Timeout = FirestoreEmulatorProject.TestTimeout)]
    public async Task DeleteAsync_StaleUpdateTime_ThrowsFailedPreconditionAndKeepsDocument()
    {
        var firstVersion = await Client.CreateAsync("notes/n1", new Note("v1", 1), Token);
        await Client.SetAsync("notes/n1", new Note("v2", 2), cancellationToken: Token);

        var error = await Assert.ThrowsAsync<FirestoreException>(() => Client.DeleteAsync("notes/n1", Precondition.UpdatedAt(firstVersion), Token));

        Assert.Equal(FirestoreStatus.FailedPrecondition, error.Status);
        Assert.NotNull(await Client.GetAsync<Note>("notes/n1", Token));
    }

    [Fact(Timeout = FirestoreEmulatorProject.TestTimeout)]
    public async Task BatchGetAsync_MixedPaths_AnswersInRequestOrderWithNullForMissing()
    {
        await Client.CreateAsync("notes/a", new Note("a", 1), Token);
        await Client.CreateAsync("notes/c", new Note("c", 3), Token);

        var documents = await Client.BatchGetAsync<Note>(["notes/c", "notes/b", "notes/a", "notes/c"], Token);

        Assert.Equal(["c", null, "a", "c"], documents.Select(d => d?.Data.Text));
    }

    [Fact(Timeout = FirestoreEmulatorProject.TestTimeout)]
    public async Task BatchGetAsync_NoPaths_ReturnsEmpty()
    {
        Assert.Empty(await Client.BatchGetAsync<Note>([], Token));
    }

    [Fact(Timeout = FirestoreEmulatorProject.TestTimeout)]
    public async Task ListDocumentsAsync_SeveralPages_VisitsEveryDocumentOnceInNameOrder()
    {
        await Client.CommitAsync([.. Enumerable.Range(0, 5).Select(i => Write.Create($"notes/n{i}", new Note($"text {i}", i)))], Token);
        await Client.CreateAsync("other/x", new Note("elsewhere", 9), Token);

        var seen = new List<string>();
        var pages = 0;
        string? token = null;
        do
        {
            var page = await Client.ListDocumentsAsync<Note>("notes", pageSize: 2, token, Token);
            Assert.InRange(page.Documents.Count, 1, 2);
            seen.AddRange(page.Documents.Select(d => d.Id));
            token = page.NextPageToken;
            pages++;
        }
        while (token is not null && pages < 10);

        Assert.Equal(["n0", "n1", "n2", "n3", "n4"], seen);
        Assert.Equal(3, pages);
    }

    [Fact(Timeout = FirestoreEmulatorProject.TestTimeout)]
    public async Task ListDocumentsAsync_Subcollection_ListsOnlyItsParentsChildren()
    {
        await Client.CreateAsync("projects/p1/messages/m1", new Note("in p1", 1), Token);
        await Client.CreateAsync("projects/p2/messages/m1", new Note("in p2", 1), Token);

        var page = await Client.ListDocumentsAsync<Note>("projects/p1/messages", cancellationToken: Token);

        var document = Assert.Single(page.Documents);
        Assert.Equal("projects/p1/messages/m1", document.Path);
        Assert.Null(page.NextPageToken);
    }

    [Fact(Timeout = FirestoreEmulatorProject.TestTimeout)]
    public async Task CommitAsync_SeveralWrites_AppliesAllAtOnce()
    {
        await Client.CreateAsync("notes/old", new Note("old", 1), Token);
        await Client.CreateAsync("notes/edit", new Note("before", 1), Token);

        var result = await Client.CommitAsync(
        [
            Write.Create("notes/new", new Note("new", 1)),
            Write.Patch("notes/edit", new Dictionary<string, object?> { ["text"] = "after" }).WithPrecondition(Precondition.MustExist),
            Write.Delete("notes/old"),
        ], Token);

        Assert.Equal(3, result.UpdateTimes.Count);
        Assert.Equal(result.CommitTime, result.UpdateTimes[0]);
        Assert.Equal("new", (await Client.GetAsync<Note>("notes/new", Token))!.Data.Text);
        Assert.Equal("after", (await Client.GetAsync<Note>("notes/edit", Token))!.Data.Text);
        Assert.Null(await Client.GetAsync<Note>("notes/old", Token));
    }

    [Fact(Timeout = FirestoreEmulatorProject.TestTimeout)]
    public async Task CommitAsync_OneWriteFails_AppliesNone()
    {
        await Client.CreateAsync("notes/taken", new Note("taken", 1), Token);

        var error = await Assert.ThrowsAsync<FirestoreException>(() => Client.CommitAsync(
        [
            Write.Create("notes/fresh", new Note("fresh", 1)),
            Write.Create("notes/taken", new Note("again", 2)),
        ], Token));

        Assert.Equal(FirestoreStatus.AlreadyExists, error.Status);
        Assert.Null(await Client.GetAsync<Note>("notes/fresh", Token));
    }

    [Fact(Timeout = FirestoreEmulatorProject.TestTimeout)]
    public async Task CommitAsync_FieldTransforms_AppliedOnTheServer()
    {
        var before = DateTimeOffset.UtcNow.AddMinutes(-1);
        await Client.CreateAsync("counters/c1", new Dictionary<string, object?> { ["count"] = 10, ["ratio"] = 1.5, ["tags"] = new List<string> { "a", "b" } }, Token);

        await Client.CommitAsync(
        [
            Write.Patch("counters/c1", new Dictionary<string, object?>()).WithTransforms(
                FieldTransform.Increment("count", 5),
                FieldTransform.Increment("ratio", 0.25),
                FieldTransform.ServerTimestamp("touchedAt"),
                FieldTransform.ArrayUnion("tags", "b", "c"),
                FieldTransform.ArrayRemove("tags", "a")),
        ], Token);
        await Client.CommitAsync([Write.Patch("counters/c1", new Dictionary<string, object?>()).WithTransforms(FieldTransform.Increment("count", -2))], Token);

        var counter = (await Client.GetAsync<Counter>("counters/c1", Token))!.Data;
        Assert.Equal(13, counter.Count);
        Assert.Equal(1.75, counter.Ratio);
        Assert.Equal(["b", "c"], counter.Tags);
        Assert.InRange(counter.TouchedAt!.Value, before, DateTimeOffset.UtcNow.AddMinutes(1));
        var raw = await _project.RawFieldsAsync("counters/c1");
        Assert.Equal("13", raw.GetProperty("count").GetProperty("integerValue").GetString());
        Assert.True(raw.GetProperty("touchedAt").TryGetProperty("timestampValue", out _));
    }

    /// <summary>
    /// The answer carries what each transform stored: exactly the field's value, which the emulator does not take from
    /// the commit time (it keeps milliseconds), so code that learns a server time from the commit needs no read back.
    /// </summary>
    [Fact(Timeout = FirestoreEmulatorProject.TestTimeout)]
    public async Task CommitAsync_ServerTimestampTransforms_AnswersTheValuesStored()
    {
        await Client.CreateAsync("counters/c1", new Dictionary<string, object?> { ["count"] = 1, ["ratio"] = 0.5, ["tags"] = new List<string>() }, Token);
        for (var i = 0; i < 5; i++)
        {
            var result = await Client.CommitAsync(
            [
                Write.Create($"stamps/s{i}", new Dictionary<string, object?> { ["rank"] = i }).WithTransforms(FieldTransform.ServerTimestamp("createdAt")),
                Write.Patch("counters/c1", new Dictionary<string, object?>()).WithTransforms(FieldTransform.Increment("count", 1), FieldTransform.ServerTimestamp("touchedAt")),
                Write.Delete("notes/none"),
            ], Token);

            var stamp = (await Client.GetAsync<Stamp>($"stamps/s{i}", Token))!.Data;
            var counter = (await Client.GetAsync<Counter>("counters/c1", Token))!.Data;
            Assert.Equal(3, result.TransformTimes.Count);
            Assert.Equal(stamp.CreatedAt, Assert.Single(result.TransformTimes[0]));
            Assert.Equal([null, counter.TouchedAt], result.TransformTimes[1]);
            Assert.Empty(result.TransformTimes[2]);
        }
    }

    [Fact(Timeout = FirestoreEmulatorProject.TestTimeout)]
    public async Task CreateAsync_WithServerTimestampTransform_SetsTimeInTheSameWrite()
    {
        var result = await Client.CommitAsync([Write.Create("notes/n1", new Note("stamped", 1)).WithTransforms(FieldTransform.ServerTimestamp("createdAt"))], Token);

        var raw = await _project.RawFieldsAsync("notes/n1");
        Assert.Equal("stamped", raw.GetProperty("text").GetProperty("stringValue").GetString());
        Assert.True(raw.GetProperty("createdAt").TryGetProperty("timestampValue", out _));
        Assert.NotNull(result.UpdateTimes[0]);
    }

    [Fact(Timeout = FirestoreEmulatorProject.TestTimeout)]
    public async Task Paths_IdsWithReservedUrlCharacters_RoundTripAsThemselves()
    {
        const string id = "a b?c#d%e&f+g";
        await Client.CreateAsync($"notes/{id}", new Note("odd id", 1), Token);

        var document = await Client.GetAsync<Note>($"notes/{id}", Token);
        var listed = await Client.ListDocumentsAsync<Note>("notes", cancellationToken: Token);

        Assert.Equal(id, document!.Id);
        Assert.Equal(id, Assert.Single(listed.Documents).Id);
    }

    [Theory]
    [InlineData("notes/../users/u1")]
    [InlineData("notes/.")]
    [InlineData("notes")]
    [InlineData("/notes/n1")]
    [InlineData("notes/n1/")]
    [InlineData("notes//n1")]
    [InlineData("notes/__id__")]
    [InlineData("")]
    public async Task GetAsync_BadDocumentPath_ThrowsArgumentExceptionWithoutAsking(string path)
    {
        await Assert.ThrowsAnyAsync<ArgumentException>(() => Client.GetAsync<Note>(path, Token));
    }

    [Fact]
    public void WritePatch_OverlappingFieldPaths_ThrowsArgumentException()
    {
        var error = Assert.Throws<ArgumentException>(() => Write.Patch("notes/n1", new Dictionary<string, object?> { ["a"] = 1, ["a.b"] = 2 }));
        Assert.Contains("a.b", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void WriteDelete_WithTransforms_ThrowsInvalidOperation()
    {
        Assert.Throws<InvalidOperationException>(() => Write.Delete("notes/n1").WithTransforms(FieldTransform.ServerTimestamp("at")));
    }

    [Fact(Timeout = FirestoreEmulatorProject.TestTimeout)]
    public async Task SetAsync_ArrayInsideArray_ThrowsInvalidArgumentFromFirestore()
    {
        var error = await Assert.ThrowsAsync<FirestoreException>(
            () => Client.SetAsync("notes/n1", new Dictionary<string, object?> { ["grid"] = new List<List<int>> { new() { 1, 2 } } }, cancellationToken: Token));

        Assert.Equal(FirestoreStatus.InvalidArgument, error.Status);
    }

    [Fact(Timeout = FirestoreEmulatorProject.TestTimeout)]
    public async Task SetAsync_DataThatIsNotAMap_ThrowsArgumentException()
    {
        await Assert.ThrowsAsync<ArgumentException>(() => Client.SetAsync("notes/n1", "just a string", cancellationToken: Token));
    }

    internal sealed record Note(string Text, int Rank);

    internal sealed record VideoSettings(int Width, int Height, int Fps);

    internal sealed record Project(string Name, string OwnerId, VideoSettings VideoSettings);

    internal sealed record Counter(long Count, double Ratio, IReadOnlyList<string> Tags, DateTimeOffset? TouchedAt);

    internal sealed record Stamp(int Rank, DateTimeOffset CreatedAt);
}
