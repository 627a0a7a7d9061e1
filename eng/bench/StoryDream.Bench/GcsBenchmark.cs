using System.Diagnostics;
using System.Globalization;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using StoryDream.GoogleCloud;
using StoryDream.GoogleCloud.Storage;

namespace StoryDream.Bench;

/// <summary>
/// Upload and download of 1 KB and 1 MB objects through <see cref="StorageClient"/> (checksums included) beside
/// the same JSON API calls made by curl over one kept-alive connection, against the local Storage emulator.
/// curl's own per-transfer time (<c>%{time_total}</c>) is the baseline, so its process start does not count.
/// </summary>
internal static class GcsBenchmark
{
    public static async Task RunAsync(bool quick)
    {
        var emulatorHost = Environment.GetEnvironmentVariable("STORAGE_EMULATOR_HOST");
        await using var server = string.IsNullOrEmpty(emulatorHost) ? await LocalServer.StartAsync("storage.sh", TimeSpan.FromSeconds(90)) : null;
        emulatorHost = server?.Endpoint ?? emulatorHost!;
        var root = StorageUris(emulatorHost);

        var configuration = new ConfigurationBuilder().Build();
        await using var services = new ServiceCollection()
            .AddSingleton<IConfiguration>(configuration)
            .Configure<GoogleCloudOptions>(options => options.StorageEmulatorHost = emulatorHost)
            .AddStorageClient()
            .BuildServiceProvider();
        var client = services.GetRequiredService<StorageClient>();
        var bucket = "bench-" + Guid.NewGuid().ToString("N")[..12];

        Console.WriteLine($"GCS: StorageClient vs curl, firebase-tools Storage emulator at {emulatorHost}");
        Console.WriteLine($"Median of {Rounds} alternating rounds (client, then curl) per line; MB/s = MiB per second.");
        Console.WriteLine($"{"operation",-10} {"size",6} {"calls/round",11} {"client ms/op",13} {"client MB/s",12} {"curl ms/op",11} {"curl MB/s",10} {"client/curl",12}");
        foreach (var (size, label, perRound) in new[] { (1024, "1 KB", quick ? 20 : 100), (1024 * 1024, "1 MB", quick ? 4 : 20) })
        {
            var payload = new byte[size];
            Random.Shared.NextBytes(payload);
            var payloadFile = Path.GetTempFileName();
            await File.WriteAllBytesAsync(payloadFile, payload);
            try
            {
                var names = Enumerable.Range(0, perRound).Select(i => $"bench/{label.Replace(' ', '-')}/{i}").ToArray();
                var curlNames = names.Select(name => name + "-curl").ToArray();
                using var sink = new MemoryStream(size);

                await CompareAsync("upload", label, size, perRound,
                    () => TimeClientAsync(names, name => client.UploadAsync(bucket, name, payload)),
                    () => TimeCurlAsync(curlNames.Select(name => UploadConfig(root, bucket, name, payloadFile))));
                await CompareAsync("download", label, size, perRound,
                    () => TimeClientAsync(names, name => { sink.SetLength(0); return client.DownloadAsync(bucket, name, sink); }),
                    () => TimeCurlAsync(curlNames.Select(name => DownloadConfig(root, bucket, name))));
            }
            finally
            {
                File.Delete(payloadFile);
            }
        }
    }

    private const int Rounds = 7;

    /// <summary>One warm-up round each, then alternating rounds, so load from other processes hits both sides alike.</summary>
    private static async Task CompareAsync(string operation, string label, int size, int perRound, Func<Task<TimeSpan>> client, Func<Task<TimeSpan>> curl)
    {
        await client();
        await curl();
        var clientTimes = new List<TimeSpan>();
        var curlTimes = new List<TimeSpan>();
        for (var round = 0; round < Rounds; round++)
        {
            clientTimes.Add(await client());
            curlTimes.Add(await curl());
        }
        Print(operation, label, perRound, size, Median(clientTimes), Median(curlTimes));
    }

    private static TimeSpan Median(List<TimeSpan> times) => times.Order().ElementAt(times.Count / 2);

    private static Uri StorageUris(string emulatorHost) =>
        new(emulatorHost.Contains("://", StringComparison.Ordinal) ? emulatorHost.TrimEnd('/') + "/" : $"http://{emulatorHost}/");

    private static async Task<TimeSpan> TimeClientAsync<T>(IEnumerable<string> names, Func<string, Task<T>> call)
    {
        var watch = Stopwatch.StartNew();
        foreach (var name in names)
        {
            await call(name);
        }
        return watch.Elapsed;
    }

    /// <summary>Runs all transfers in one curl process (one connection, kept alive) and sums curl's per-transfer times.</summary>
    private static async Task<TimeSpan> TimeCurlAsync(IEnumerable<string> transfers)
    {
        var config = Path.GetTempFileName();
        try
        {
            await File.WriteAllTextAsync(config, string.Join("next\n", transfers));
            var info = new ProcessStartInfo("curl", ["--silent", "--show-error", "--fail", "--config", config])
            {
                RedirectStandardOutput = true,
                RedirectStandardError = true,
                UseShellExecute = false,
            };
            using var curl = Process.Start(info) ?? throw new InvalidOperationException("curl did not start.");
            var output = curl.StandardOutput.ReadToEndAsync();
            var errors = curl.StandardError.ReadToEndAsync();
            await curl.WaitForExitAsync();
            if (curl.ExitCode != 0)
            {
                throw new InvalidOperationException($"curl failed ({curl.ExitCode}): {await errors}");
            }
            var seconds = (await output).Split('\n', StringSplitOptions.RemoveEmptyEntries)
                .Sum(line => double.Parse(line, CultureInfo.InvariantCulture));
            return TimeSpan.FromSeconds(seconds);
        }
        finally
        {
            File.Delete(config);
        }
    }

    private static string UploadConfig(Uri root, string bucket, string name, string payloadFile) => $"""
        url = "{root}upload/storage/v1/b/{bucket}/o?uploadType=media&name={Uri.EscapeDataString(name)}"
        data-binary = "@{payloadFile}"
        header = "Content-Type: application/octet-stream"
        header = "Authorization: Bearer owner"
        header = "Expect:"
        output = "/dev/null"
        write-out = "%{"{"}time_total{"}"}\n"

        """;

    private static string DownloadConfig(Uri root, string bucket, string name) => $"""
        url = "{root}storage/v1/b/{bucket}/o/{Uri.EscapeDataString(name)}?alt=media"
        header = "Authorization: Bearer owner"
        output = "/dev/null"
        write-out = "%{"{"}time_total{"}"}\n"

        """;

    private static void Print(string operation, string label, int calls, int size, TimeSpan client, TimeSpan curl)
    {
        static double MegabytesPerSecond(int calls, int size, TimeSpan time) => calls * (double)size / (1024 * 1024) / time.TotalSeconds;
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"{operation,-10} {label,6} {calls,11} {client.TotalMilliseconds / calls,13:F3} {MegabytesPerSecond(calls, size, client),12:F2} {curl.TotalMilliseconds / calls,11:F3} {MegabytesPerSecond(calls, size, curl),10:F2} {client / curl,12:F2}"));
    }
}
