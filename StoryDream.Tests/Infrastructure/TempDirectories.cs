namespace StoryDream.Tests.Infrastructure;

internal static class TempDirectories
{
    /// <summary>
    /// Deletes a test's scratch folder. A process stopped a moment ago (a session pod's Vite, an emulator) can still
    /// be writing into it, and a recursive delete then fails with "directory not empty"; the delete is retried for a
    /// few seconds. A fixture's cleanup must not throw for this: xunit reports it as a cleanup failure, which fails the
    /// run without failing any test. Leftover processes are what eng/test.sh checks, not leftover scratch folders.
    /// </summary>
    public static async Task DeleteAsync(string path)
    {
        for (var attempt = 1; ; attempt++)
        {
            try
            {
                if (Directory.Exists(path)) { Directory.Delete(path, recursive: true); }
                return;
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                if (attempt == 20) { return; }
                await Task.Delay(TimeSpan.FromMilliseconds(250));
            }
        }
    }
}
