namespace StoryDream.Tests.Infrastructure;

internal static class RepositoryPaths
{
    public static string Root { get; } = FindRoot();

    private static string FindRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "StoryDream.sln"))) { return dir.FullName; }
        }
        throw new InvalidOperationException($"No StoryDream.sln above {AppContext.BaseDirectory}.");
    }
}
