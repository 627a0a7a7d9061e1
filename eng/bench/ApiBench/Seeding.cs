using System.Diagnostics;
using System.Text;
using StoryDream.Api.Messages;
using StoryDream.GoogleCloud.Firestore;
using StoryDream.Snapshots;

namespace ApiBench;

/// <summary>The data the list measures read: many projects of one user, many messages in one project.</summary>
internal static class Seeding
{
    private const int SeedParallelism = 16;

    /// <summary>Firestore takes at most 500 writes in one commit.</summary>
    private const int WritesPerCommit = 500;

    /// <summary>Creates <paramref name="count"/> projects through the API, <see cref="SeedParallelism"/> at a time.</summary>
    public static async Task<TimeSpan> ProjectsAsync(HttpClient http, int count)
    {
        var started = Stopwatch.GetTimestamp();
        await Parallel.ForAsync(0, count, new ParallelOptions { MaxDegreeOfParallelism = SeedParallelism }, async (i, _) =>
            await ApiHost.CreateProjectAsync(http, $"Listed {i}"));
        return Stopwatch.GetElapsedTime(started);
    }

    /// <summary>
    /// Writes <paramref name="count"/> chat messages straight into the project's <c>messages</c> collection, in the shape
    /// the API's message store writes (the API has no route that adds messages outside a chat turn): alternating user
    /// and assistant turns of everyday lengths, one second apart; the assistant's with one to three file actions.
    /// Returns their ids, oldest first.
    /// </summary>
    public static async Task<IReadOnlyList<string>> MessagesAsync(FirestoreClient firestore, string projectId, int count)
    {
        var random = new Random(2000);
        var first = DateTimeOffset.UtcNow.AddSeconds(-count);
        first = new DateTimeOffset(first.UtcTicks - (first.UtcTicks % TimeSpan.TicksPerSecond), TimeSpan.Zero);
        var ids = new List<string>(count);
        var writes = new List<Write>(count);
        for (var i = 0; i < count; i++)
        {
            var id = Guid.NewGuid().ToString("D");
            ids.Add(id);
            var assistant = i % 2 == 1;
            var actions = new List<Dictionary<string, object?>>();
            for (var a = assistant ? random.Next(1, 4) : 0; a > 0; a--)
            {
                actions.Add(new Dictionary<string, object?>
                {
                    ["type"] = "file_edit",
                    ["filePath"] = $"src/scenes/Scene{random.Next(20)}.tsx",
                    ["summary"] = Words(random, 8),
                    ["snapshotId"] = null,
                });
            }
            var content = assistant ? Words(random, random.Next(40, 240)) : Words(random, random.Next(6, 50));
            writes.Add(Write.Create($"{SnapshotDocuments.Project(projectId)}/messages/{id}", new Dictionary<string, object?>
            {
                ["role"] = assistant ? MessageRoles.Assistant : MessageRoles.User,
                ["content"] = content,
                ["status"] = MessageStatuses.Complete,
                ["actions"] = actions,
                ["createdAt"] = first.AddSeconds(i),
                ["tokenCount"] = content.Length / 4,
            }));
        }
        foreach (var batch in writes.Chunk(WritesPerCommit)) { await firestore.CommitAsync(batch); }
        return ids;
    }

    private static string Words(Random random, int count)
    {
        string[] words = ["the", "title", "fades", "in", "over", "a", "blue", "gradient", "then", "slides", "left", "and", "the", "logo", "scales", "up",
            "with", "spring", "timing", "while", "subtitle", "text", "appears", "frame", "by", "frame"];
        var text = new StringBuilder();
        for (var i = 0; i < count; i++)
        {
            if (i > 0) { text.Append(' '); }
            text.Append(words[random.Next(words.Length)]);
        }
        return text.ToString();
    }
}
