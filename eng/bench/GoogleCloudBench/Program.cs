using System.Globalization;
using GoogleCloudBench;

// Latency of the StoryDream.GoogleCloud clients against the local emulators, beside curl making the same calls
// in the same run. Usage: dotnet run -c Release --project eng/bench/GoogleCloudBench -- [--n 500] [--warmup 100]
var n = IntArgument(args, "--n", 500);
var warmup = IntArgument(args, "--warmup", 100);

IBenchmarkSection[] sections =
[
    new FirestoreSection(),
    // Cloud Storage (gcs): its section goes here.
];

await using var context = new BenchmarkContext(n, warmup);
Console.WriteLine($"StoryDream.GoogleCloud benchmark: N={n} measured calls per operation after {warmup} warm-up calls, sequential, one connection.");
Console.WriteLine(Curl.Method);
foreach (var section in sections)
{
    Console.WriteLine();
    await section.RunAsync(context);
}
return 0;

static int IntArgument(string[] args, string name, int fallback)
{
    var index = Array.IndexOf(args, name);
    return index >= 0 && index + 1 < args.Length ? int.Parse(args[index + 1], CultureInfo.InvariantCulture) : fallback;
}
