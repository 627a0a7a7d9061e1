using System.Text.Json;
using System.Text.Json.Serialization;
using StoryDream.GoogleCloud.Firestore;
using StoryDream.Tests.Infrastructure;

namespace StoryDream.Tests.GoogleCloud.Firestore;

public sealed class FirestoreValueMapperTests(TestServers servers) : IAsyncLifetime
{
    private static readonly DateTimeOffset MicrosecondInstant = new DateTimeOffset(2024, 5, 6, 7, 8, 9, TimeSpan.Zero).AddTicks(1_234_560);

    private FirestoreEmulatorProject _project = null!;

    private FirestoreClient Client => _project.Client;

    private static CancellationToken Token => TestContext.Current.CancellationToken;

    public async ValueTask InitializeAsync() => _project = await FirestoreEmulatorProject.CreateAsync(servers);

    public ValueTask DisposeAsync() => _project.DisposeAsync();

    [Fact(Timeout = FirestoreEmulatorProject.TestTimeout)]
    public async Task Record_EveryValueType_StoredWithFirestoreTypes()
    {
        await Client.SetAsync("values/v1", Sample(), cancellationToken: Token);

        var raw = await _project.RawFieldsAsync("values/v1");

        Assert.Equal("hello \"world\" ✓", Field(raw, "text", "stringValue").GetString());
        Assert.Equal("9007199254740993", Field(raw, "big", "integerValue").GetString());
        Assert.Equal("-7", Field(raw, "small", "integerValue").GetString());
        Assert.Equal(0.1, Field(raw, "real", "doubleValue").GetDouble());
        Assert.Equal(3.0, Field(raw, "whole", "doubleValue").GetDouble());
        Assert.True(Field(raw, "flag", "booleanValue").GetBoolean());
        Assert.Equal("2024-05-06T07:08:09.123456Z", Field(raw, "at", "timestampValue").GetString());
        Assert.Equal("2024-05-06T07:08:09.123456Z", Field(raw, "atWithOffset", "timestampValue").GetString());
        Assert.Equal("2024-05-06T07:08:09.123456Z", Field(raw, "atUtc", "timestampValue").GetString());
        Assert.Equal(Convert.ToBase64String([0, 1, 2, 254, 255]), Field(raw, "bytes", "bytesValue").GetString());
        Assert.Equal(JsonValueKind.Null, Field(raw, "nothing", "nullValue").ValueKind);
        Assert.Equal("4", Field(raw, "maybeCount", "integerValue").GetString());
        Assert.Equal($"projects/{_project.ProjectId}/databases/(default)/documents/users/u1", Field(raw, "owner", "referenceValue").GetString());
        Assert.Equal("fileEdit", Field(raw, "kind", "stringValue").GetString());
        Assert.Equal("command_run", Field(raw, "namedKind", "stringValue").GetString());
        Assert.Equal("0f8fad5b-d9cb-469f-a165-70867728950e", Field(raw, "id", "stringValue").GetString());
        Assert.Equal("NaN", Field(raw, "notANumber", "doubleValue").GetString());
        Assert.Equal("-Infinity", Field(raw, "negativeInfinity", "doubleValue").GetString());
        Assert.Equal("renamed", Field(raw, "display_name", "stringValue").GetString());
        Assert.False(raw.TryGetProperty("secret", out _));
        Assert.False(raw.TryGetProperty("Secret", out _));

        var nested = Field(raw, "nested", "mapValue").GetProperty("fields");
        Assert.Equal("inner", Field(nested, "label", "stringValue").GetString());
        Assert.Equal("2", Field(nested, "size", "integerValue").GetString());
        var scores = Field(raw, "scores", "mapValue").GetProperty("fields");
        Assert.Equal("10", Field(scores, "alice", "integerValue").GetString());
        var tags = Field(raw, "tags", "arrayValue").GetProperty("values");
        Assert.Equal(["x", "y"], tags.EnumerateArray().Select(t => t.GetProperty("stringValue").GetString()));
        var items = Field(raw, "items", "arrayValue").GetProperty("values");
        Assert.Equal("first", Field(items[0].GetProperty("mapValue").GetProperty("fields"), "label", "stringValue").GetString());
        Assert.Equal(JsonValueKind.Object, Field(raw, "emptyMap", "mapValue").ValueKind);
        Assert.Equal(JsonValueKind.Object, Field(raw, "emptyList", "arrayValue").ValueKind);
    }

    [Fact(Timeout = FirestoreEmulatorProject.TestTimeout)]
    public async Task Record_EveryValueType_ReadsBackEqual()
    {
        var written = Sample();
        await Client.SetAsync("values/v1", written, cancellationToken: Token);

        var read = (await Client.GetAsync<Everything>("values/v1", Token))!.Data;

        Assert.Equal(written.Text, read.Text);
        Assert.Equal(written.Big, read.Big);
        Assert.Equal(written.Small, read.Small);
        Assert.Equal(written.Real, read.Real);
        Assert.Equal(written.Whole, read.Whole);
        Assert.Equal(written.Flag, read.Flag);
        Assert.Equal(written.At, read.At);
        Assert.Equal(written.AtWithOffset, read.AtWithOffset);
        Assert.Equal(written.AtUtc, read.AtUtc);
        Assert.Equal(DateTimeKind.Utc, read.AtUtc.Kind);
        Assert.Equal(written.Bytes, read.Bytes);
        Assert.Null(read.Nothing);
        Assert.Equal(written.MaybeCount, read.MaybeCount);
        Assert.Null(read.MaybeMissing);
        Assert.Equal(written.Owner, read.Owner);
        Assert.Equal(written.Kind, read.Kind);
        Assert.Equal(written.NamedKind, read.NamedKind);
        Assert.Equal(written.Id, read.Id);
        Assert.True(double.IsNaN(read.NotANumber));
        Assert.Equal(double.NegativeInfinity, read.NegativeInfinity);
        Assert.Equal(written.DisplayName, read.DisplayName);
        Assert.Null(read.Secret);
        Assert.Equal(written.Nested, read.Nested);
        Assert.Equal(written.Scores, read.Scores);
        Assert.Equal(written.Tags, read.Tags);
        Assert.Equal(written.Items, read.Items);
        Assert.Empty(read.EmptyMap);
        Assert.Empty(read.EmptyList);
    }

    [Fact(Timeout = FirestoreEmulatorProject.TestTimeout)]
    public async Task Dictionary_ArbitraryKeysAndObjects_RoundTripAsNestedMaps()
    {
        var data = new Dictionary<string, object?>
        {
            ["src/a.tsx"] = 1,
            ["with space and . dot"] = "ok",
            ["deep"] = new Dictionary<string, object?> { ["list"] = new List<object?> { 1, "two", null, true, new Dictionary<string, int> { ["x"] = 3 } } },
        };

        await Client.SetAsync("values/d1", data, cancellationToken: Token);
        var read = (await Client.GetAsync<JsonElement>("values/d1", Token))!.Data;

        Assert.Equal(1, read.GetProperty("src/a.tsx").GetInt32());
        Assert.Equal("ok", read.GetProperty("with space and . dot").GetString());
        var list = read.GetProperty("deep").GetProperty("list");
        Assert.Equal("[1,\"two\",null,true,{\"x\":3}]", list.GetRawText().Replace(" ", "", StringComparison.Ordinal).Replace("\n", "", StringComparison.Ordinal));
    }

    [Fact(Timeout = FirestoreEmulatorProject.TestTimeout)]
    public async Task JsonElement_AsData_WritesIntegersAndDoublesApart()
    {
        var data = JsonSerializer.Deserialize<JsonElement>("""{"count": 3, "ratio": 2.5, "name": "n", "on": false, "none": null, "list": [1], "map": {"k": "v"}}""");

        await Client.SetAsync("values/j1", data, cancellationToken: Token);
        var raw = await _project.RawFieldsAsync("values/j1");

        Assert.Equal("3", Field(raw, "count", "integerValue").GetString());
        Assert.Equal(2.5, Field(raw, "ratio", "doubleValue").GetDouble());
        Assert.False(Field(raw, "on", "booleanValue").GetBoolean());
        Assert.Equal(JsonValueKind.Null, Field(raw, "none", "nullValue").ValueKind);
        Assert.Equal("v", Field(Field(raw, "map", "mapValue").GetProperty("fields"), "k", "stringValue").GetString());
    }

    [Fact(Timeout = FirestoreEmulatorProject.TestTimeout)]
    public async Task GetAsync_ValueOfWrongType_ThrowsJsonExceptionNamingTheDocument()
    {
        await Client.SetAsync("values/bad", new Dictionary<string, object?> { ["kind"] = "no-such-kind" }, cancellationToken: Token);

        var error = await Assert.ThrowsAsync<JsonException>(() => Client.GetAsync<KindOnly>("values/bad", Token));

        Assert.Contains("values/bad", error.Message, StringComparison.Ordinal);
    }

    [Fact(Timeout = FirestoreEmulatorProject.TestTimeout)]
    public async Task GetAsync_IntegerStoredIntoDoubleProperty_Converts()
    {
        await Client.SetAsync("values/n", new Dictionary<string, object?> { ["real"] = 7L }, cancellationToken: Token);

        Assert.Equal(7.0, (await Client.GetAsync<RealOnly>("values/n", Token))!.Data.Real);
    }

    [Fact(Timeout = FirestoreEmulatorProject.TestTimeout)]
    public async Task GetAsync_NullStoredForNonNullableProperty_ThrowsJsonExceptionNamingTheDocument()
    {
        await Client.SetAsync("values/null", new Dictionary<string, object?> { ["label"] = null, ["size"] = 1 }, cancellationToken: Token);

        var error = await Assert.ThrowsAsync<JsonException>(() => Client.GetAsync<Inner>("values/null", Token));

        Assert.Contains("values/null", error.Message, StringComparison.Ordinal);
        Assert.Null((await Client.GetAsync<NullableInner>("values/null", Token))!.Data.Label);
    }

    [Fact(Timeout = FirestoreEmulatorProject.TestTimeout)]
    public async Task GetAsync_FieldMissingFromDocument_ReadsAsDefault()
    {
        await Client.SetAsync("values/old", new Dictionary<string, object?> { ["label"] = "written before size existed" }, cancellationToken: Token);

        var read = (await Client.GetAsync<Inner>("values/old", Token))!.Data;

        Assert.Equal(new Inner("written before size existed", 0), read);
    }

    [Fact]
    public void WriteFields_NullInNonNullableProperty_ThrowsArgumentExceptionNamingIt()
    {
        var mapper = new FirestoreValueMapper("projects/p/databases/(default)/documents");
        using var writer = new Utf8JsonWriter(Stream.Null);

        var error = Assert.Throws<ArgumentException>(() => mapper.WriteFields(writer, new Inner(null!, 1)));

        Assert.Contains("'label'", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void WriteValue_NestingBeyondFirestoresLimit_ThrowsArgumentException()
    {
        var mapper = new FirestoreValueMapper("projects/p/databases/(default)/documents");
        var deep = new Dictionary<string, object?>();
        var current = deep;
        for (var i = 0; i < 25; i++)
        {
            var next = new Dictionary<string, object?>();
            current["n"] = next;
            current = next;
        }
        using var writer = new Utf8JsonWriter(Stream.Null);

        Assert.Throws<ArgumentException>(() => mapper.WriteFields(writer, deep));
    }

    [Fact]
    public void WriteValue_SelfReferencingObject_ThrowsArgumentExceptionInsteadOfLooping()
    {
        var mapper = new FirestoreValueMapper("projects/p/databases/(default)/documents");
        var loop = new Dictionary<string, object?>();
        loop["self"] = loop;
        using var writer = new Utf8JsonWriter(Stream.Null);

        Assert.Throws<ArgumentException>(() => mapper.WriteFields(writer, loop));
    }

    [Theory]
    [InlineData("\"2024-01-02T03:04:05.123456789Z\"", 1_234_567)]
    [InlineData("\"2024-01-02T03:04:05.123Z\"", 1_230_000)]
    [InlineData("\"2024-01-02T03:04:05Z\"", 0)]
    public void ReadTimestamp_FractionsUpToNanoseconds_ParseToTicks(string json, long fractionTicks)
    {
        var reader = new Utf8JsonReader(System.Text.Encoding.UTF8.GetBytes(json));
        reader.Read();

        var value = FirestoreValueMapper.ReadTimestamp(ref reader);

        Assert.Equal(new DateTimeOffset(2024, 1, 2, 3, 4, 5, TimeSpan.Zero).AddTicks(fractionTicks), value);
    }

    [Fact]
    public void Deserialize_NanosecondTimestampIntoRecord_Parses()
    {
        var value = JsonSerializer.Deserialize<AtOnly>("""{"at":"2024-01-02T03:04:05.123456789Z"}""", FirestoreValueMapper.SerializerOptions)!;

        Assert.Equal(new DateTimeOffset(2024, 1, 2, 3, 4, 5, TimeSpan.Zero).AddTicks(1_234_567), value.At);
    }

    private static JsonElement Field(JsonElement fields, string name, string type) => fields.GetProperty(name).GetProperty(type);

    private static Everything Sample() => new(
        Text: "hello \"world\" ✓",
        Big: 9_007_199_254_740_993,
        Small: -7,
        Real: 0.1,
        Whole: 3.0,
        Flag: true,
        At: MicrosecondInstant,
        AtWithOffset: MicrosecondInstant.ToOffset(TimeSpan.FromHours(2)),
        AtUtc: MicrosecondInstant.UtcDateTime,
        Bytes: [0, 1, 2, 254, 255],
        Nothing: null,
        MaybeCount: 4,
        MaybeMissing: null,
        Owner: new FirestoreReference("users/u1"),
        Kind: ActionKind.FileEdit,
        NamedKind: ActionKind.CommandRun,
        Id: Guid.Parse("0F8FAD5B-D9CB-469F-A165-70867728950E"),
        NotANumber: double.NaN,
        NegativeInfinity: double.NegativeInfinity,
        DisplayName: "renamed",
        Secret: "never stored",
        Nested: new Inner("inner", 2),
        Scores: new Dictionary<string, int> { ["alice"] = 10, ["bob"] = 20 },
        Tags: ["x", "y"],
        Items: [new Inner("first", 1), new Inner("second", 2)],
        EmptyMap: new Dictionary<string, int>(),
        EmptyList: []);

    internal enum ActionKind
    {
        FileEdit,
        [JsonStringEnumMemberName("command_run")]
        CommandRun,
    }

    internal sealed record Inner(string Label, int Size);

    internal sealed record NullableInner(string? Label, int Size);

    internal sealed record Everything(
        string Text,
        long Big,
        int Small,
        double Real,
        double Whole,
        bool Flag,
        DateTimeOffset At,
        DateTimeOffset AtWithOffset,
        DateTime AtUtc,
        byte[] Bytes,
        string? Nothing,
        int? MaybeCount,
        int? MaybeMissing,
        FirestoreReference Owner,
        ActionKind Kind,
        ActionKind NamedKind,
        Guid Id,
        double NotANumber,
        double NegativeInfinity,
        [property: JsonPropertyName("display_name")] string DisplayName,
        [property: JsonIgnore] string? Secret,
        Inner Nested,
        IReadOnlyDictionary<string, int> Scores,
        IReadOnlyList<string> Tags,
        IReadOnlyList<Inner> Items,
        IReadOnlyDictionary<string, int> EmptyMap,
        IReadOnlyList<int> EmptyList);

    internal sealed record KindOnly(ActionKind Kind);

    internal sealed record RealOnly(double Real);

    internal sealed record AtOnly(DateTimeOffset At);
}
