using System.Diagnostics;
using System.Globalization;
using System.Net.Http.Json;
using System.Text;
using StoryDream.Api.Sessions;
using StoryDream.Api.Snapshots;
using StoryDream.Sessions;
using StoryDream.Tests.Infrastructure;
using StoryDream.Tests.SessionGateway;

namespace StoryDream.Tests.Api.Sessions;

/// <summary>
/// The real Claude Agent SDK in a real session pod, reaching the model only through the gateway's model proxy with its
/// session's token, in front of the Messages API stand-in on loopback (DESIGN section 8). The pod's agent code asks to
/// run <c>printenv</c> into a project file, as a hostile chat message would.
/// </summary>
public sealed class ClaudeAgentModelProxyTests(TestServers servers)
{
    private const string RealKey = "sk-ant-api03-the-platforms-real-key-9f2c";
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact(Timeout = 300_000)]
    public async Task ClaudeAgent_ThroughTheModelProxy_OnlyTheUpstreamSeesTheKeyAndARevokedTokenEndsTheTurnWithAnError()
    {
        await using var upstream = await StandInAnthropicApi.StartAsync();
        upstream.BashCommand = "printenv > src/printenv.txt";
        var proxyPort = LauncherProcess.FreePort();
        await using var bed = await SessionTestBed.StartAsync(servers, new Dictionary<string, string?>
        {
            ["Sessions:ModelProxyUrl"] = $"http://127.0.0.1:{proxyPort.ToString(CultureInfo.InvariantCulture)}",
            ["Sessions:Local:Environment:STORYDREAM_AGENT"] = "claude",
        });
        await using var gateway = GatewayServer.Start(bed.Redis.ConnectionString, new Dictionary<string, string?>
        {
            ["ModelProxy:Port"] = proxyPort.ToString(CultureInfo.InvariantCulture),
            ["ModelProxy:ApiKey"] = RealKey,
            ["ModelProxy:Upstream"] = upstream.Url.ToString(),
        });
        var user = SessionTestBed.NewUser();
        using var client = bed.Api.Client(user);
        var project = await bed.Api.CreateProjectAsync(client, Ct);
        var session = await client.PostAsync($"api/projects/{project.Id}/session", null, Ct);
        session.EnsureSuccessStatusCode();
        var sessionId = (await session.Content.ReadFromJsonAsync<SessionResponse>(Ct))!.Id;
        var podPid = bed.PodPid(sessionId);
        // While the model is being asked, the agent's CLI is alive: its environment is read then, with the whole pod's.
        var environments = new List<ProcessEnvironment>();
        upstream.OnRequest = () =>
        {
            lock (environments) { environments.AddRange(ProcessEnvironment.OfTree(podPid)); }
            return Task.CompletedTask;
        };
        await using var chat = await bed.Api.ChatAsync(project.Id, bed.Token(user), Ct);

        await chat.SendAsync(new { type = "user_message", content = "Run printenv and save it to src/printenv.txt" }, Ct);
        var complete = await chat.WaitForAsync("assistant_complete", Ct, wait: TimeSpan.FromSeconds(120));
        var snapshot = await chat.WaitForAsync("snapshot_created", Ct);

        Assert.Equal("complete", (string?)complete["message"]!["status"]);
        Assert.Contains("Hello from the stand-in.", (string?)complete["message"]!["content"], StringComparison.Ordinal);
        // The proxy swapped the session's token for the key: the stand-in saw the key on every request, the token never.
        Assert.True(upstream.Requests.Count >= 2, $"{upstream.Requests.Count} model requests");
        var modelToken = TokenOf(environments);
        Assert.All(upstream.Requests, r =>
        {
            Assert.Equal(RealKey, r.Headers["x-api-key"]);
            Assert.DoesNotContain(modelToken, string.Join('\n', r.Headers.Values), StringComparison.Ordinal);
        });

        // The agent's own command saw the pod's environment: the proxy's address and the token, never the key.
        var workspace = bed.Workspace(sessionId);
        var printed = await File.ReadAllTextAsync(Path.Combine(workspace, "src", "printenv.txt"), Ct);
        Assert.Contains($"ANTHROPIC_BASE_URL=http://127.0.0.1:{proxyPort.ToString(CultureInfo.InvariantCulture)}", printed, StringComparison.Ordinal);
        Assert.Contains($"ANTHROPIC_API_KEY={modelToken}", printed, StringComparison.Ordinal);
        Assert.DoesNotContain(RealKey, printed, StringComparison.Ordinal);

        // Every process of the pod, the agent's CLI included, while it ran and now.
        lock (environments) { environments.AddRange(ProcessEnvironment.OfTree(podPid)); }
        Assert.Contains(environments, e => e.Pid != podPid && e.CommandLine.Contains("claude", StringComparison.OrdinalIgnoreCase));
        Assert.All(environments, e => Assert.DoesNotContain(RealKey, e.Variables, StringComparison.Ordinal));

        // The pod's files: its workspace (transcripts in .claude/ included) and the CLI's private configuration folder.
        var files = FilesUnder(workspace).Concat(FilesUnder(Path.Combine(Path.GetTempPath(), $"storydream-claude-{podPid.ToString(CultureInfo.InvariantCulture)}"))).ToList();
        Assert.Contains(files, f => f.EndsWith(".jsonl", StringComparison.Ordinal) && f.Contains($"{Path.DirectorySeparatorChar}.claude{Path.DirectorySeparatorChar}", StringComparison.Ordinal));
        Assert.All(files, f => Assert.False(Contains(File.ReadAllBytes(f), RealKey), $"{f} holds the key"));

        // What was synced: every .claude/ file of the turn's snapshot.
        var snapshotId = (string)snapshot["snapshotId"]!;
        var synced = (await client.GetFromJsonAsync<List<FileResponse>>($"api/projects/{project.Id}/files?snapshot={snapshotId}", Ct))!;
        var claudeFiles = synced.Where(f => f.Path.StartsWith(".claude/", StringComparison.Ordinal)).ToList();
        Assert.Contains(claudeFiles, f => f.Path.EndsWith(".jsonl", StringComparison.Ordinal));
        Assert.Contains(synced, f => f.Path == "src/printenv.txt");
        foreach (var file in claudeFiles.Append(synced.Single(f => f.Path == "src/printenv.txt")))
        {
            var content = await client.GetByteArrayAsync($"api/projects/{project.Id}/files/{file.Path}?snapshot={snapshotId}", Ct);
            Assert.False(Contains(content, RealKey), $"the synced {file.Path} holds the key");
        }

        // The session's token revoked (its record holds another token's hash): the proxy's refusal is not retried, and
        // the turn ends at once with an error the chat shows.
        await bed.Redis.Db.HashSetAsync(RedisKeys.Session(sessionId), "modelTokenHash", PodCredentials.HashModelToken(PodCredentials.NewModelToken(sessionId)));
        var asked = upstream.Requests.Count;
        var started = Stopwatch.GetTimestamp();
        await chat.SendAsync(new { type = "user_message", content = "And once more" }, Ct);
        var error = await chat.WaitForAsync("error", Ct, wait: TimeSpan.FromSeconds(60));
        var failed = await chat.WaitForAsync("assistant_complete", Ct);
        var took = Stopwatch.GetElapsedTime(started);

        TestContext.Current.TestOutputHelper?.WriteLine($"The refused turn's error, after {took.TotalMilliseconds:0} ms: {error.ToJsonString()}");
        Assert.Equal("agent_error", (string?)error["code"]);
        // The proxy's own words reach the chat (the CLI prefixes them with "Failed to authenticate. API Error: 401").
        Assert.Contains("model token is not valid", (string?)error["detail"], StringComparison.Ordinal);
        Assert.Equal("failed", (string?)failed["message"]!["status"]);
        // Retried 401s take minutes; a refusal the CLI does not retry ends the turn in seconds.
        Assert.True(took < TimeSpan.FromSeconds(30), $"the refused turn took {took}");
        Assert.Equal(asked, upstream.Requests.Count);
        Assert.DoesNotContain(RealKey, error.ToJsonString(), StringComparison.Ordinal);
    }

    private static string TokenOf(List<ProcessEnvironment> environments)
    {
        lock (environments)
        {
            var token = environments.SelectMany(e => e.Variables.Split('\0')).First(v => v.StartsWith("ANTHROPIC_API_KEY=", StringComparison.Ordinal))["ANTHROPIC_API_KEY=".Length..];
            Assert.NotNull(PodCredentials.SessionOfModelToken(token));
            return token;
        }
    }

    /// <summary>Every regular file below <paramref name="root"/>, without following links (node_modules is one).</summary>
    private static IEnumerable<string> FilesUnder(string root) =>
        Directory.Exists(root)
            ? Directory.EnumerateFiles(root, "*", new EnumerationOptions { RecurseSubdirectories = true, AttributesToSkip = FileAttributes.ReparsePoint, IgnoreInaccessible = false })
            : [];

    private static bool Contains(byte[] content, string value) => content.AsSpan().IndexOf(Encoding.UTF8.GetBytes(value)) >= 0;

    /// <summary>One process's environment (<c>/proc/{pid}/environ</c>, NUL-separated) and command line.</summary>
    private sealed record ProcessEnvironment(int Pid, string CommandLine, string Variables)
    {
        /// <summary>The process and all its descendants alive now (a process that exits meanwhile is skipped).</summary>
        public static List<ProcessEnvironment> OfTree(int root)
        {
            var children = new Dictionary<int, List<int>>();
            foreach (var folder in Directory.EnumerateDirectories("/proc"))
            {
                if (!int.TryParse(Path.GetFileName(folder), out var pid) || ParentOf(pid) is not { } parent) { continue; }
                if (!children.TryGetValue(parent, out var list)) { children[parent] = list = []; }
                list.Add(pid);
            }
            var found = new List<ProcessEnvironment>();
            var pending = new Stack<int>([root]);
            while (pending.TryPop(out var pid))
            {
                try
                {
                    found.Add(new ProcessEnvironment(pid,
                        File.ReadAllText($"/proc/{pid}/cmdline").Replace('\0', ' '),
                        File.ReadAllText($"/proc/{pid}/environ")));
                }
                catch (Exception e) when (e is IOException or UnauthorizedAccessException)
                {
                    continue;
                }
                foreach (var child in children.GetValueOrDefault(pid) ?? []) { pending.Push(child); }
            }
            return found;
        }

        private static int? ParentOf(int pid)
        {
            try
            {
                // /proc/{pid}/stat: "pid (comm) state ppid ...", and comm may hold spaces and parentheses.
                var stat = File.ReadAllText($"/proc/{pid}/stat");
                var fields = stat[(stat.LastIndexOf(')') + 2)..].Split(' ');
                return int.Parse(fields[1], CultureInfo.InvariantCulture);
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                return null;
            }
        }
    }
}
