using SyncBench;

// The sync worker end to end against a real session-pod, Redis and the emulators, beside a full copy in the same run.
// Usage: dotnet run -c Release --project eng/bench/SyncBench -- [--quick] [--rounds N]
// Object names travel in the query string of uploads, which HttpClient's spans (read by StepTimeline) redact by default.
AppContext.SetSwitch("System.Net.Http.DisableUriRedaction", true);
var roundsAt = Array.IndexOf(args, "--rounds");
int? rounds = roundsAt >= 0 && roundsAt + 1 < args.Length && int.TryParse(args[roundsAt + 1], out var n) && n > 0 ? n : null;
await SyncBenchmark.RunAsync(quick: args.Contains("--quick"), rounds);
