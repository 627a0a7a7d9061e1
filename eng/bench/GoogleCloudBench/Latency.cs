using System.Diagnostics;

namespace GoogleCloudBench;

/// <summary>One way of making a call, run in batches: times <c>count</c> sequential calls.</summary>
internal sealed record Way(string Name, Func<int, Task<IReadOnlyList<TimeSpan>>> RunBatchAsync)
{
    /// <summary>A way that makes one call per invocation, timed here.</summary>
    public static Way InProcess(string name, Func<Task> call) => new(name, async count =>
    {
        var samples = new TimeSpan[count];
        for (var i = 0; i < count; i++)
        {
            var start = Stopwatch.GetTimestamp();
            await call();
            samples[i] = Stopwatch.GetElapsedTime(start);
        }
        return samples;
    });
}

/// <summary>Measurement and the table every section prints.</summary>
internal static class Latency
{
    private const int Rounds = 10;

    /// <summary>
    /// Warms every way up, then measures <paramref name="n"/> calls of each in interleaved rounds, so that the
    /// emulator's own drift (its JIT, its growing data, other load on the machine) falls on all ways alike.
    /// </summary>
    public static async Task<IReadOnlyList<TimeSpan>[]> MeasureAsync(int n, int warmup, params Way[] ways)
    {
        foreach (var way in ways)
        {
            await way.RunBatchAsync(warmup);
        }
        var samples = ways.Select(_ => new List<TimeSpan>(n)).ToArray();
        for (var round = 0; round < Rounds; round++)
        {
            var count = (n / Rounds) + (round < n % Rounds ? 1 : 0);
            for (var i = 0; i < ways.Length; i++)
            {
                samples[i].AddRange(await ways[i].RunBatchAsync(count));
            }
        }
        return [.. samples];
    }

    public static TimeSpan Percentile(IReadOnlyList<TimeSpan> samples, double percentile)
    {
        var sorted = samples.Order().ToArray();
        var rank = (int)Math.Ceiling(percentile / 100 * sorted.Length) - 1;
        return sorted[Math.Clamp(rank, 0, sorted.Length - 1)];
    }

    /// <summary>With <paramref name="throughput"/>, a last column gives the bytes per second that the median call moves.</summary>
    public static void PrintHeader(string title, bool throughput = false)
    {
        Console.WriteLine(title);
        Console.WriteLine($"  {"operation",-22} {"way",-18} {"median",10} {"p99",10}   {"vs curl: median",15} {"p99",6}{(throughput ? $" {"MiB/s at median",16}" : "")}");
    }

    /// <summary>
    /// Prints one operation: each way's median and p99, and its ratio to the last way, the baseline; with
    /// <paramref name="bytesPerCall"/>, the throughput at the median.
    /// </summary>
    public static void PrintRows(string operation, Way[] ways, IReadOnlyList<TimeSpan>[] samples, int? bytesPerCall = null)
    {
        var baselineMedian = Percentile(samples[^1], 50);
        var baselineP99 = Percentile(samples[^1], 99);
        for (var i = 0; i < ways.Length; i++)
        {
            var median = Percentile(samples[i], 50);
            var p99 = Percentile(samples[i], 99);
            var ratios = i == ways.Length - 1 ? $"{"",22}" : $"{median / baselineMedian,14:0.00}x {p99 / baselineP99,5:0.00}x";
            var throughput = bytesPerCall is { } bytes ? $" {bytes / (1024.0 * 1024.0) / median.TotalSeconds,16:0.00}" : "";
            Console.WriteLine($"  {(i == 0 ? operation : ""),-22} {ways[i].Name,-18} {Ms(median),10} {Ms(p99),10}   {ratios}{throughput}".TrimEnd());
        }
    }

    private static string Ms(TimeSpan value) => $"{value.TotalMilliseconds:0.000} ms";
}
