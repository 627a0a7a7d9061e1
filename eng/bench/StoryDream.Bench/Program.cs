using StoryDream.Bench;

// Benchmarks against the local servers; each prints its figures beside a baseline measured in the same run.
// Usage: dotnet run -c Release --project eng/bench/StoryDream.Bench -- [gcs] [sync] [--quick]
var quick = args.Contains("--quick");
var sections = args.Where(arg => !arg.StartsWith("--", StringComparison.Ordinal)).ToHashSet(StringComparer.OrdinalIgnoreCase);
var all = sections.Count == 0;

if (all || sections.Contains("gcs"))
{
    await GcsBenchmark.RunAsync(quick);
}

if (all || sections.Contains("sync"))
{
    await SyncBenchmark.RunAsync(quick);
}
