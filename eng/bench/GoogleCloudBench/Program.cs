using System.Globalization;
using GoogleCloudBench;

// Latency and throughput of the StoryDream.GoogleCloud clients against the local emulators, beside curl making the
// same calls in the same run. Usage:
//   dotnet run -c Release --project eng/bench/GoogleCloudBench -- [--n 500] [--warmup 100] [--section firestore|gcs]...
IBenchmarkSection[] all = [new FirestoreSection(), new GcsSection()];
var n = 500;
var warmup = 100;
var chosen = new List<IBenchmarkSection>();
for (var i = 0; i < args.Length; i += 2)
{
    var (flag, value) = (args[i], i + 1 < args.Length ? args[i + 1] : throw new ArgumentException($"{args[i]} needs a value."));
    switch (flag)
    {
        case "--n":
            n = int.Parse(value, NumberStyles.None, CultureInfo.InvariantCulture);
            break;
        case "--warmup":
            warmup = int.Parse(value, NumberStyles.None, CultureInfo.InvariantCulture);
            break;
        case "--section":
            chosen.Add(all.FirstOrDefault(section => section.Name == value)
                ?? throw new ArgumentException($"No section '{value}'; the sections are {string.Join(", ", all.Select(section => section.Name))}."));
            break;
        default:
            throw new ArgumentException($"Unknown argument '{flag}'; usage: [--n 500] [--warmup 100] [--section firestore|gcs]...");
    }
}
if (n < 1)
{
    throw new ArgumentException("--n must be at least 1.");
}

await using var context = new BenchmarkContext(n, warmup);
Console.WriteLine($"StoryDream.GoogleCloud benchmark: N={n} measured calls per operation and way after {warmup} warm-up calls, sequential, one connection.");
Console.WriteLine(Curl.Method);
foreach (var section in chosen.Count == 0 ? all : chosen.Distinct())
{
    Console.WriteLine();
    await section.RunAsync(context);
}
return 0;
