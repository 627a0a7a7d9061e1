using System.Diagnostics;
using System.Globalization;
using System.Net.Http.Json;
using System.Text.Json;
using ApiBench;
using StoryDream.Bench;
using StoryDream.Api.Http;
using StoryDream.Api.Messages;
using StoryDream.Api.Projects;
using StoryDream.GoogleCloud.Firestore;
using StoryDream.Snapshots;

// Projects API benchmark (issue 3), one run, everything on loopback: POST /api/projects (median and p99) beside
// creation by copying a 200-file template's files (server-side copy per file, and upload per file), in interleaved
// rounds; GET /api/projects over a user with 1,000 projects (one page, and paging through all of it); GET .../messages,
// a page of 50 out of 2,000 messages. Each page is also timed as the bare Firestore query the API runs for it, to show
// what the API adds. --copies sets how many creations each copying way makes (default: as many as --creations).
// Usage: dotnet run -c Release --project eng/bench/ApiBench -- [--creations 200] [--copies N] [--projects 1000]
//        [--messages 2000] [--calls 100] [--walks 10]
var creations = Option("--creations", 200);
var copies = Option("--copies", creations);
var projectCount = Option("--projects", 1000);
var messageCount = Option("--messages", 2000);
var calls = Option("--calls", 100);
var walks = Option("--walks", 10);
const int Rounds = 10;
const int DefaultProjectPage = 20;
const int ProjectPage = 100;
const int MessagePage = 50;
if (creations < Rounds || copies < 1 || projectCount < 1 || messageCount < MessagePage * 2 || calls < Rounds || walks < 1)
{
    Console.Error.WriteLine($"--creations and --calls must be at least {Rounds}, --messages at least {MessagePage * 2}, the rest at least 1.");
    return 2;
}
if (string.IsNullOrEmpty(Environment.GetEnvironmentVariable("GCE_METADATA_HOST")))
{
    // Nothing here may reach the GCE metadata server: any probe goes to a closed loopback port.
    Environment.SetEnvironmentVariable("GCE_METADATA_HOST", $"127.0.0.1:{ServerProcess.FreePort()}");
}

var root = ServerProcess.RepositoryRoot;
Console.Error.WriteLine("bench: starting Redis, the Firestore and Storage emulators and the API");
await using var redis = await ServerProcess.StartAsync("redis.sh");
await using var firestoreServer = await ServerProcess.StartAsync("firestore.sh");
await using var storageServer = await ServerProcess.StartAsync("storage.sh");
await using var api = ApiHost.Start(redis.Endpoint, firestoreServer.Endpoint, storageServer.Endpoint);
var firestore = api.Firestore;

// --- creation ------------------------------------------------------------------------------------------
Console.Error.WriteLine($"bench: {creations} creations through the API, interleaved with {copies} by copying a {CopyCreation.FileCount}-file template");
var baseline = new CopyCreation(api.Storage, api.StorageOptions, firestore);
await baseline.SeedTemplateAsync();
using var creator = api.ClientFor("bench-creator");
for (var i = 0; i < 10; i++) { await ApiHost.CreateProjectAsync(creator, "Warm-up"); } // JIT, the template's seeding, the user's upsert
await baseline.CheckCopiedAsync(await baseline.CopyAsync("bench-copier", "Warm-up"));
await baseline.CheckCopiedAsync(await baseline.UploadAsync("bench-copier", "Warm-up"));
var created = new List<TimeSpan>();
var copied = new List<TimeSpan>();
var uploaded = new List<TimeSpan>();
var committed = new List<TimeSpan>();
var templateSnapshotId = DefaultTemplateSnapshotId(root);
for (var round = 0; round < Rounds; round++)
{
    for (var i = Share(creations, round); i > 0; i--)
    {
        var started = Stopwatch.GetTimestamp();
        var project = await ApiHost.CreateProjectAsync(creator, "Bench");
        created.Add(Stopwatch.GetElapsedTime(started));
        if (project.HeadSnapshotId != templateSnapshotId) { throw new InvalidOperationException("A new project's head is not the default template's snapshot."); }
        started = Stopwatch.GetTimestamp();
        await baseline.WriteDocumentsAsync(Guid.NewGuid().ToString("D"), "bench-committer", "Bench");
        committed.Add(Stopwatch.GetElapsedTime(started));
    }
    for (var i = Share(copies, round); i > 0; i--)
    {
        var started = Stopwatch.GetTimestamp();
        await baseline.CopyAsync("bench-copier", "Bench");
        copied.Add(Stopwatch.GetElapsedTime(started));
        started = Stopwatch.GetTimestamp();
        await baseline.UploadAsync("bench-copier", "Bench");
        uploaded.Add(Stopwatch.GetElapsedTime(started));
    }
}

// --- project list --------------------------------------------------------------------------------------
Console.Error.WriteLine($"bench: seeding {projectCount} projects of one user through the API");
using var lister = api.ClientFor("bench-lister");
var seedTime = await Seeding.ProjectsAsync(lister, projectCount);
var (listedIds, _, _) = await WalkAsync<ProjectResponse>(lister, $"api/projects?pageSize={ProjectPage}");
if (listedIds.Distinct().Count() != projectCount) { throw new InvalidOperationException($"Paging the list gave {listedIds.Distinct().Count()} projects, not {projectCount}."); }
var projectQuery = StructuredQuery.Collection(SnapshotDocuments.ProjectsCollection)
    .Where("ownerId", QueryOperator.Equal, "bench-lister")
    .OrderByDescending(SnapshotDocuments.UpdatedAtField)
    .OrderByDescending(StructuredQuery.DocumentId);
var listDefault = new List<TimeSpan>();
var listFull = new List<TimeSpan>();
var listDefaultQuery = new List<TimeSpan>();
var listFullQuery = new List<TimeSpan>();
for (var round = 0; round < Rounds; round++)
{
    for (var i = Share(calls, round); i > 0; i--)
    {
        listDefault.Add(await TimeGetAsync(lister, "api/projects"));
        listDefaultQuery.Add(await TimeQueryAsync(projectQuery.Limit(DefaultProjectPage + 1)));
        listFull.Add(await TimeGetAsync(lister, $"api/projects?pageSize={ProjectPage}"));
        listFullQuery.Add(await TimeQueryAsync(projectQuery.Limit(ProjectPage + 1)));
    }
}
var listWalks = new List<TimeSpan>();
for (var i = 0; i < walks; i++) { listWalks.Add((await WalkAsync<ProjectResponse>(lister, $"api/projects?pageSize={ProjectPage}")).Elapsed); }

// --- messages ------------------------------------------------------------------------------------------
Console.Error.WriteLine($"bench: seeding {messageCount} messages in one project");
using var chatter = api.ClientFor("bench-chatter");
var chatProject = (await ApiHost.CreateProjectAsync(chatter, "Long chat")).Id;
var seededIds = await Seeding.MessagesAsync(firestore, chatProject, messageCount);
var (pagedIds, middleToken, _) = await WalkAsync<ChatMessage>(chatter, $"api/projects/{chatProject}/messages", stopAtPage: messageCount / MessagePage / 2);
if (!pagedIds.SequenceEqual(seededIds)) { throw new InvalidOperationException("Paging the messages did not give every message once, oldest first."); }
var messagesPath = $"api/projects/{chatProject}/messages";
var middlePath = $"{messagesPath}?pageToken={Uri.EscapeDataString(middleToken!)}";
var messageQuery = StructuredQuery.Collection($"{SnapshotDocuments.Project(chatProject)}/messages")
    .OrderBy(SnapshotDocuments.CreatedAtField)
    .OrderBy(StructuredQuery.DocumentId)
    .Limit(MessagePage + 1);
var firstPage = new List<TimeSpan>();
var middlePage = new List<TimeSpan>();
var pageQuery = new List<TimeSpan>();
for (var round = 0; round < Rounds; round++)
{
    for (var i = Share(calls, round); i > 0; i--)
    {
        firstPage.Add(await TimeGetAsync(chatter, messagesPath));
        middlePage.Add(await TimeGetAsync(chatter, middlePath));
        pageQuery.Add(await TimeQueryAsync(messageQuery));
    }
}
var messageWalks = new List<TimeSpan>();
for (var i = 0; i < walks; i++) { messageWalks.Add((await WalkAsync<ChatMessage>(chatter, messagesPath)).Elapsed); }

// --- report --------------------------------------------------------------------------------------------
var createMedian = Percentile(created, 50);
var copyRatio = Percentile(copied, 50) / createMedian;
var uploadRatio = Percentile(uploaded, 50) / createMedian;
// A naive implementation would take the cheaper of the two ways of copying, so the target is judged against that one.
var ratio = Math.Min(copyRatio, uploadRatio);
Console.WriteLine($"Projects API: API on Kestrel in this process, Redis, Firestore and Storage emulators, all on loopback; {Environment.ProcessorCount} cores");
Console.WriteLine($"  {"measure",-46} {"median",10} {"p99",10}   {"beside",-46} {"median",10} {"p99",10}");
Row($"POST /api/projects, default template (n={created.Count})", created,
    $"server-side copy of {CopyCreation.FileCount} files + docs (n={copied.Count})", copied);
Row($"  its one Firestore commit, direct (n={committed.Count})", committed,
    $"upload of {CopyCreation.FileCount} files ({baseline.TotalBytes / 1024} KiB) + docs (n={uploaded.Count})", uploaded);
Row($"GET /api/projects, 1st page of {DefaultProjectPage} of {projectCount}", listDefault, "the same Firestore query, direct", listDefaultQuery);
Row($"GET /api/projects, 1st page of {ProjectPage} of {projectCount}", listFull, "the same Firestore query, direct", listFullQuery);
Row($"all {projectCount} projects, pages of {ProjectPage} (n={listWalks.Count})", listWalks, "", null);
Row($"GET .../messages, 1st page of {MessagePage} of {messageCount}", firstPage, "the same Firestore query, direct", pageQuery);
Row($"GET .../messages, page {messageCount / MessagePage / 2 + 1} of {messageCount / MessagePage} (pageToken)", middlePage, "", null);
Row($"all {messageCount} messages, pages of {MessagePage} (n={messageWalks.Count})", messageWalks, "", null);
Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
    $"  seeding: {projectCount} projects through the API, 16 at a time, in {seedTime.TotalSeconds:F1} s ({projectCount / seedTime.TotalSeconds:F0} creations/s)"));
Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
    $"  creation vs copying, medians: {copyRatio:F1}x faster than server-side copies, {uploadRatio:F1}x than uploads (target >= 10x over the cheaper: {Met(ratio >= 10)}); creation median {Ms(createMedian)} (target <= 30 ms: {Met(createMedian <= TimeSpan.FromMilliseconds(30))})"));
return ratio >= 10 && createMedian <= TimeSpan.FromMilliseconds(30) ? 0 : 1;

async Task<TimeSpan> TimeQueryAsync(StructuredQuery query)
{
    var started = Stopwatch.GetTimestamp();
    await firestore.RunQueryAsync<JsonElement>(query);
    return Stopwatch.GetElapsedTime(started);
}

static async Task<TimeSpan> TimeGetAsync(HttpClient http, string path)
{
    var started = Stopwatch.GetTimestamp();
    using var response = await http.GetAsync(path);
    response.EnsureSuccessStatusCode();
    await response.Content.ReadAsByteArrayAsync();
    return Stopwatch.GetElapsedTime(started);
}

// Follows nextPageToken to the end; returns every item's id in order, the token that opens page stopAtPage (0-based)
// and the time the whole walk took.
static async Task<(List<string> Ids, string? Token, TimeSpan Elapsed)> WalkAsync<T>(HttpClient http, string path, int stopAtPage = -1)
{
    var ids = new List<string>();
    string? token = null;
    string? kept = null;
    var started = Stopwatch.GetTimestamp();
    for (var page = 0; ; page++)
    {
        if (page == stopAtPage) { kept = token; }
        var separator = path.Contains('?', StringComparison.Ordinal) ? '&' : '?';
        var url = token is null ? path : $"{path}{separator}pageToken={Uri.EscapeDataString(token)}";
        var body = await http.GetFromJsonAsync<Page<T>>(url) ?? throw new InvalidOperationException($"GET {url} answered no body.");
        ids.AddRange(body.Items.Select(item => item switch
        {
            ProjectResponse project => project.Id,
            ChatMessage message => message.Id,
            _ => throw new InvalidOperationException($"Unexpected item {item}."),
        }));
        if (body.NextPageToken is not { } next) { return (ids, kept, Stopwatch.GetElapsedTime(started)); }
        token = next;
    }
}

// The snapshot id of templates/default as the API stores it: the files under the workspace roots, by relative path.
static string DefaultTemplateSnapshotId(string root)
{
    var folder = Path.Combine(root, "templates", "default");
    var entries = SnapshotPath.WorkspaceRoots
        .Select(workspaceRoot => Path.Combine(folder, workspaceRoot))
        .Where(Directory.Exists)
        .SelectMany(dir => Directory.EnumerateFiles(dir, "*", SearchOption.AllDirectories))
        .Select(file => (Path: Path.GetRelativePath(folder, file).Replace(Path.DirectorySeparatorChar, '/'), Content: File.ReadAllBytes(file)))
        .Select(file => new ManifestEntry(file.Path, Sha256Hex.Of(file.Content), file.Content.Length));
    return SnapshotManifest.Create(entries).Id;
}

static void Row(string measure, List<TimeSpan> samples, string beside, List<TimeSpan>? besideSamples) =>
    Console.WriteLine($"  {measure,-46} {Ms(Percentile(samples, 50)),10} {Ms(Percentile(samples, 99)),10}   {beside,-46} " +
        (besideSamples is null ? "" : $"{Ms(Percentile(besideSamples, 50)),10} {Ms(Percentile(besideSamples, 99)),10}"));

static TimeSpan Percentile(List<TimeSpan> samples, double percentile)
{
    var sorted = samples.Order().ToArray();
    return sorted[Math.Clamp((int)Math.Ceiling(percentile / 100 * sorted.Length) - 1, 0, sorted.Length - 1)];
}

static string Ms(TimeSpan value) => $"{value.TotalMilliseconds.ToString("0.0", CultureInfo.InvariantCulture)} ms";

static string Met(bool met) => met ? "met" : "NOT met";

// The count that falls to this round when total calls are spread over the rounds as evenly as whole numbers allow.
static int Share(int total, int round) => (total * (round + 1) / Rounds) - (total * round / Rounds);

int Option(string name, int fallback)
{
    var index = Array.IndexOf(args, name);
    return index >= 0 && index + 1 < args.Length ? int.Parse(args[index + 1], CultureInfo.InvariantCulture) : fallback;
}

