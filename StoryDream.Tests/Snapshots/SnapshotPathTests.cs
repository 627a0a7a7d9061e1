using System.Text.Json;
using StoryDream.Snapshots;
using StoryDream.Tests.Infrastructure;

namespace StoryDream.Tests.Snapshots;

public sealed class SnapshotPathTests
{
    /// <summary>The cases the session pod's own test suite runs against its validator (session-pod/test/paths.test.ts).</summary>
    public static TheoryData<string, bool, string> SharedCases()
    {
        using var fixture = JsonDocument.Parse(File.ReadAllBytes(Path.Combine(RepositoryPaths.Root, "session-pod", "test", "support", "path-cases.json")));
        var data = new TheoryData<string, bool, string>();
        foreach (var item in fixture.RootElement.GetProperty("cases").EnumerateArray())
        {
            data.Add(item.GetProperty("path").GetString()!, item.GetProperty("valid").GetBoolean(), item.GetProperty("why").GetString()!);
        }
        return data;
    }

    [Theory]
    [MemberData(nameof(SharedCases), DisableDiscoveryEnumeration = true)]
    public void Problem_CaseSharedWithThePod_SameVerdict(string path, bool valid, string why)
    {
        var problem = SnapshotPath.Problem(path);

        Assert.True(valid == problem is null, $"{why}: expected {(valid ? "valid" : "refused")}, got {problem ?? "valid"}");
    }

    [Fact]
    public void Problem_LoneSurrogate_Refused()
    {
        // Not in the shared JSON: System.Text.Json refuses to read a lone surrogate. The pod's suite has the same case.
        Assert.Contains("lone surrogate", SnapshotPath.Problem("src/a\ud800b.ts"), StringComparison.Ordinal);
    }
}
