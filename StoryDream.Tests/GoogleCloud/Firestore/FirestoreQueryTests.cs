using StoryDream.GoogleCloud.Firestore;
using StoryDream.Tests.Infrastructure;

namespace StoryDream.Tests.GoogleCloud.Firestore;

public sealed class FirestoreQueryTests(TestServers servers) : IAsyncLifetime
{
    private FirestoreEmulatorProject _project = null!;

    private FirestoreClient Client => _project.Client;

    private static CancellationToken Token => TestContext.Current.CancellationToken;

    public async ValueTask InitializeAsync()
    {
        _project = await FirestoreEmulatorProject.CreateAsync(servers);
        await Client.CommitAsync(
        [
            Write.Create("items/a", new Item("a", 1, "red", ["x"], "n", 1.0)),
            Write.Create("items/b", new Item("b", 2, "blue", ["y"], null, double.NaN)),
            Write.Create("items/c", new Item("c", 3, "red", ["x", "y"], "n", 3.0)),
            Write.Create("items/d", new Item("d", 4, "green", [], null, 4.0)),
            Write.Create("items/e", new Item("e", 5, "blue", ["z"], "n", 5.0)),
            Write.Create("elsewhere/a", new Item("other collection", 3, "red", ["x"], "n", 3.0)),
        ], Token);
    }

    public ValueTask DisposeAsync() => _project.DisposeAsync();

    [Theory(Timeout = FirestoreEmulatorProject.TestTimeout)]
    [InlineData("size", QueryOperator.Equal, 3, "c")]
    [InlineData("size", QueryOperator.NotEqual, 3, "a,b,d,e")]
    [InlineData("size", QueryOperator.LessThan, 3, "a,b")]
    [InlineData("size", QueryOperator.LessThanOrEqual, 3, "a,b,c")]
    [InlineData("size", QueryOperator.GreaterThan, 3, "d,e")]
    [InlineData("size", QueryOperator.GreaterThanOrEqual, 3, "c,d,e")]
    [InlineData("tags", QueryOperator.ArrayContains, "x", "a,c")]
    [InlineData("tags", QueryOperator.ArrayContainsAny, new[] { "y", "z" }, "b,c,e")]
    [InlineData("color", QueryOperator.In, new[] { "red", "green" }, "a,c,d")]
    [InlineData("color", QueryOperator.NotIn, new[] { "red", "green" }, "b,e")]
    [InlineData("note", QueryOperator.Equal, null, "b,d")]
    [InlineData("note", QueryOperator.NotEqual, null, "a,c,e")]
    [InlineData("score", QueryOperator.Equal, double.NaN, "b")]
    [InlineData("score", QueryOperator.NotEqual, double.NaN, "a,c,d,e")]
    [InlineData("color", QueryOperator.Equal, "purple", "")]
    public async Task RunQueryAsync_Operator_FindsExactlyTheMatchingDocuments(string field, QueryOperator op, object? value, string expected)
    {
        var documents = await Client.RunQueryAsync<Item>(StructuredQuery.Collection("items").Where(field, op, value), Token);

        Assert.Equal(expected, string.Join(',', documents.Select(d => d.Id).Order(StringComparer.Ordinal)));
    }

    [Fact(Timeout = FirestoreEmulatorProject.TestTimeout)]
    public async Task RunQueryAsync_SeveralWheres_CombinesThemWithAnd()
    {
        var query = StructuredQuery.Collection("items").Where("color", QueryOperator.Equal, "red").Where("size", QueryOperator.GreaterThan, 1);

        Assert.Equal(["c"], await IdsAsync(query));
    }

    [Fact(Timeout = FirestoreEmulatorProject.TestTimeout)]
    public async Task RunQueryAsync_OrderByAndLimit_ReturnsTopInOrder()
    {
        Assert.Equal(["e", "d"], await IdsAsync(StructuredQuery.Collection("items").OrderByDescending("size").Limit(2)));
        Assert.Equal(["a", "b", "c"], await IdsAsync(StructuredQuery.Collection("items").OrderBy("size").Limit(3)));
        Assert.Equal(["d", "e"], await IdsAsync(StructuredQuery.Collection("items").OrderBy("size").Offset(3)));
    }

    [Theory(Timeout = FirestoreEmulatorProject.TestTimeout)]
    [InlineData("startAt", 2, "b,c,d,e")]
    [InlineData("startAfter", 2, "c,d,e")]
    [InlineData("endAt", 4, "a,b,c,d")]
    [InlineData("endBefore", 4, "a,b,c")]
    public async Task RunQueryAsync_Cursor_BoundsTheOrderedResults(string cursor, int size, string expected)
    {
        var ordered = StructuredQuery.Collection("items").OrderBy("size");
        var query = cursor switch
        {
            "startAt" => ordered.StartAt(size),
            "startAfter" => ordered.StartAfter(size),
            "endAt" => ordered.EndAt(size),
            _ => ordered.EndBefore(size),
        };

        Assert.Equal(expected, string.Join(',', await IdsAsync(query)));
    }

    [Fact(Timeout = FirestoreEmulatorProject.TestTimeout)]
    public async Task RunQueryAsync_StartAndEndCursors_Together()
    {
        Assert.Equal(["b", "c", "d"], await IdsAsync(StructuredQuery.Collection("items").OrderBy("size").StartAfter(1).EndBefore(5)));
    }

    [Fact(Timeout = FirestoreEmulatorProject.TestTimeout)]
    public async Task RunQueryAsync_CursorOnFieldAndDocumentName_BreaksTies()
    {
        var query = StructuredQuery.Collection("items").OrderBy("color").OrderBy(StructuredQuery.DocumentId)
            .StartAfter("blue", new FirestoreReference("items/b"));

        Assert.Equal(["e", "d", "a", "c"], await IdsAsync(query));
    }

    [Fact(Timeout = FirestoreEmulatorProject.TestTimeout)]
    public async Task RunQueryAsync_PagingWithStartAfter_VisitsEachDocumentOnce()
    {
        var baseQuery = StructuredQuery.Collection("items").OrderByDescending("size").Limit(2);
        var seen = new List<string>();
        var page = await Client.RunQueryAsync<Item>(baseQuery, Token);
        while (page.Count > 0 && seen.Count < 10)
        {
            seen.AddRange(page.Select(d => d.Id));
            page = await Client.RunQueryAsync<Item>(baseQuery.StartAfter(page[^1].Data.Size), Token);
        }

        Assert.Equal(["e", "d", "c", "b", "a"], seen);
    }

    [Fact(Timeout = FirestoreEmulatorProject.TestTimeout)]
    public async Task RunQueryAsync_SubcollectionAndCollectionGroup_ScopeTheSearch()
    {
        await Client.CommitAsync(
        [
            Write.Create("projects/p1/messages/m1", new Item("m1", 1, "red", [], null, 0)),
            Write.Create("projects/p2/messages/m2", new Item("m2", 2, "red", [], null, 0)),
            Write.Create("messages/m3", new Item("m3", 3, "red", [], null, 0)),
        ], Token);

        Assert.Equal(["m1"], await IdsAsync(StructuredQuery.Collection("projects/p1/messages")));
        Assert.Equal(["m1"], await IdsAsync(StructuredQuery.CollectionGroup("messages", "projects/p1")));
        Assert.Equal(["m1", "m2", "m3"], await IdsAsync(StructuredQuery.CollectionGroup("messages").OrderBy("size")));
    }

    [Fact(Timeout = FirestoreEmulatorProject.TestTimeout)]
    public async Task RunQueryAsync_ReferenceValue_MatchesByReference()
    {
        await Client.SetAsync("links/l1", new Link(new FirestoreReference("items/a")), cancellationToken: Token);
        await Client.SetAsync("links/l2", new Link(new FirestoreReference("items/b")), cancellationToken: Token);

        var documents = await Client.RunQueryAsync<Link>(StructuredQuery.Collection("links").Where("target", QueryOperator.Equal, new FirestoreReference("items/b")), Token);

        Assert.Equal("items/b", Assert.Single(documents).Data.Target.Path);
    }

    [Fact]
    public void Where_ListOperatorWithoutList_ThrowsArgumentException()
    {
        Assert.Throws<ArgumentException>(() => StructuredQuery.Collection("items").Where("color", QueryOperator.In, "red"));
        Assert.Throws<ArgumentException>(() => StructuredQuery.Collection("items").Where("color", QueryOperator.LessThan, null));
        Assert.Throws<ArgumentException>(() => StructuredQuery.Collection("items/a"));
        Assert.Throws<ArgumentException>(() => StructuredQuery.CollectionGroup("projects/p1/messages"));
    }

    [Fact]
    public void Builder_EachCall_LeavesTheBaseQueryUnchanged()
    {
        var baseQuery = StructuredQuery.Collection("items").Where("color", QueryOperator.Equal, "red");

        var narrowed = baseQuery.Where("size", QueryOperator.GreaterThan, 1).Limit(1);

        Assert.Single(baseQuery.Filters);
        Assert.Null(baseQuery.LimitValue);
        Assert.Equal(2, narrowed.Filters.Length);
    }

    private async Task<List<string>> IdsAsync(StructuredQuery query) =>
        [.. (await Client.RunQueryAsync<Item>(query, Token)).Select(d => d.Id)];

    internal sealed record Item(string Name, int Size, string Color, IReadOnlyList<string> Tags, string? Note, double Score);

    internal sealed record Link(FirestoreReference Target);
}
