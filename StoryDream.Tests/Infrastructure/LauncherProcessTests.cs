using System.Globalization;

namespace StoryDream.Tests.Infrastructure;

public sealed class LauncherProcessTests
{
    [Fact(Timeout = 30_000)]
    public async Task Dispose_LauncherWithAChildOfItsOwn_ChildStoppedToo()
    {
        // The shape of `npm start`: a parent that dies on SIGTERM and leaves its server child running unless the whole
        // group is signalled.
        var launcher = await LauncherProcess.StartAsync("bash", ["-c", "sleep 300 & echo \"READY $!\"; wait"], TimeSpan.FromSeconds(10));
        var child = int.Parse(launcher.Endpoint, CultureInfo.InvariantCulture);
        Assert.True(IsRunning(child));

        await launcher.DisposeAsync();

        Assert.False(IsRunning(child));
    }

    internal static bool IsRunning(int pid)
    {
        try
        {
            var stat = File.ReadAllText($"/proc/{pid}/stat");
            return stat[(stat.LastIndexOf(')') + 2)..][0] is not ('Z' or 'X');
        }
        catch (IOException)
        {
            return false;
        }
    }
}
