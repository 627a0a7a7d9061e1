using System.Text.RegularExpressions;
using StoryDream.Tests.Infrastructure;

namespace StoryDream.Tests.AppHost;

/// <summary>No image can be built here (no Docker daemon), so the Dockerfiles are checked as text.</summary>
public sealed partial class DockerfileTests
{
    [Theory]
    [InlineData("StoryDream.Api")]
    [InlineData("StoryDream.SessionGateway")]
    [InlineData("StoryDream.SyncWorker")]
    public void Dockerfile_Service_IsMultiStagePinnedAndNonRoot(string project)
    {
        var path = Path.Combine(RepositoryPaths.Root, project, "Dockerfile");
        var lines = File.ReadAllLines(path).Select(l => l.Trim()).Where(l => l.Length > 0 && !l.StartsWith('#')).ToList();

        var stages = lines.Where(l => l.StartsWith("FROM ", StringComparison.Ordinal)).ToList();
        Assert.True(stages.Count >= 2, $"{project}/Dockerfile is not multi-stage.");
        foreach (var stage in stages)
        {
            var image = stage.Split(' ', StringSplitOptions.RemoveEmptyEntries)[1];
            Assert.Matches(PinnedTag(), image);
        }

        var final = lines.Skip(lines.LastIndexOf(stages[^1])).ToList();
        var user = Assert.Single(final, l => l.StartsWith("USER ", StringComparison.Ordinal));
        Assert.DoesNotContain("root", user, StringComparison.Ordinal);
        Assert.DoesNotContain(final, l => l.StartsWith("RUN ", StringComparison.Ordinal) && lines.IndexOf(l) > lines.IndexOf(user));
        Assert.Contains($"ENTRYPOINT [\"dotnet\", \"{project}.dll\"]", final);
        Assert.Contains(lines, l => l.Contains($"dotnet publish {project}/{project}.csproj", StringComparison.Ordinal));
    }

    [Fact]
    public void DockerIgnore_BuildContext_LeavesOutBuildOutputAndSecrets()
    {
        var entries = File.ReadAllLines(Path.Combine(RepositoryPaths.Root, ".dockerignore"));

        Assert.Contains("**/bin/", entries);
        Assert.Contains("**/obj/", entries);
        Assert.Contains(".dev/", entries);
        Assert.Contains(".git/", entries);
    }

    // name:tag with a version-like tag (digits and dots), never "latest".
    [GeneratedRegex(@"^[a-z0-9./-]+:\d+(\.\d+)+$")]
    private static partial Regex PinnedTag();
}
