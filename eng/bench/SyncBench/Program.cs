using SyncBench;

// The sync worker end to end against a real session-pod, Redis and the emulators, beside a full copy in the same run.
// Usage: dotnet run -c Release --project eng/bench/SyncBench -- [--quick]
await SyncBenchmark.RunAsync(quick: args.Contains("--quick"));
