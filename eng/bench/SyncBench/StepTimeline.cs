using System.Diagnostics;
using System.Globalization;

namespace SyncBench;

/// <summary>
/// Where a sync's time goes: the worker runs in this process, so its spans (the batch's consumer span, the snapshot
/// commit) and every HTTP call made under them (pod, Firestore, Storage) are recorded by an
/// <see cref="ActivityListener"/> and laid out against the job's XADD. Steps are named by the call they make.
/// </summary>
internal sealed class StepTimeline : IDisposable
{
    private readonly ActivityListener _listener;
    private readonly List<Activity> _stopped = [];
    private readonly List<Round> _rounds = [];

    public StepTimeline()
    {
        _listener = new ActivityListener
        {
            ShouldListenTo = source => source.Name is "System.Net.Http" or "StoryDream.SyncWorker" or "StoryDream.Snapshots",
            Sample = (ref ActivityCreationOptions<ActivityContext> _) => ActivitySamplingResult.AllDataAndRecorded,
            ActivityStopped = activity =>
            {
                lock (_stopped) { _stopped.Add(activity); }
            },
        };
        ActivitySource.AddActivityListener(_listener);
    }

    /// <summary>Forgets what was recorded so far (the calls of set-up and earlier jobs).</summary>
    public void Clear()
    {
        lock (_stopped) { _stopped.Clear(); }
    }

    /// <summary>Files the steps of the job just timed: the consumer span's trace, relative to <paramref name="enqueuedAt"/> (UTC).</summary>
    public void EndRound(DateTime enqueuedAt, TimeSpan total)
    {
        List<Activity> activities;
        lock (_stopped)
        {
            activities = [.. _stopped];
            _stopped.Clear();
        }
        var consumer = activities.FirstOrDefault(a => a.Source.Name == "StoryDream.SyncWorker");
        if (consumer is null) { return; }
        var steps = activities
            .Where(a => a.TraceId == consumer.TraceId && a != consumer)
            .Select(a => new Step(Name(a), a.StartTimeUtc - enqueuedAt, a.StartTimeUtc - enqueuedAt + a.Duration))
            .OrderBy(s => s.Start)
            .ToList();
        steps.Insert(0, new Step("job picked up (XADD to the consumer span)", TimeSpan.Zero, consumer.StartTimeUtc - enqueuedAt));
        steps.Add(new Step("consumer span end to done event", consumer.StartTimeUtc - enqueuedAt + consumer.Duration, total));
        _rounds.Add(new Round(steps, total));
    }

    /// <summary>Per step (summed over its calls in a round): median start, end and busy time over the rounds, and how many calls a round makes.</summary>
    public void Print()
    {
        if (_rounds.Count == 0) { return; }
        Console.WriteLine($"where a one-file sync's time goes (medians over {_rounds.Count} rounds, ms after the XADD; busy = the calls' own time, summed):");
        Console.WriteLine($"  {"step",-48} {"calls",6} {"start",7} {"end",7} {"busy",7}");
        var names = _rounds.SelectMany(r => r.Steps.Select(s => s.Name)).Distinct().ToList();
        var byFirstStart = names.OrderBy(n => Median(_rounds.Select(r => r.Steps.Where(s => s.Name == n).Select(s => s.Start).DefaultIfEmpty(TimeSpan.MaxValue).Min())));
        foreach (var name in byFirstStart)
        {
            var present = _rounds.Where(r => r.Steps.Any(s => s.Name == name)).ToList();
            var calls = Median(present.Select(r => TimeSpan.FromTicks(r.Steps.Count(s => s.Name == name)))).Ticks;
            var start = Median(present.Select(r => r.Steps.Where(s => s.Name == name).Min(s => s.Start)));
            var end = Median(present.Select(r => r.Steps.Where(s => s.Name == name).Max(s => s.End)));
            var busy = Median(present.Select(r => r.Steps.Where(s => s.Name == name).Aggregate(TimeSpan.Zero, (sum, s) => sum + (s.End - s.Start))));
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"  {name,-48} {calls,6} {start.TotalMilliseconds,7:F1} {end.TotalMilliseconds,7:F1} {busy.TotalMilliseconds,7:F1}"));
        }
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"  {"total (XADD to done event)",-48} {"",6} {"",7} {Median(_rounds.Select(r => r.Total)).TotalMilliseconds,7:F1}"));
    }

    private static string Name(Activity activity)
    {
        if (activity.Source.Name != "System.Net.Http") { return activity.OperationName; }
        var url = activity.GetTagItem("url.full") as string ?? "";
        var method = activity.GetTagItem("http.request.method") as string ?? "";
        if (url.Contains("/files/", StringComparison.Ordinal)) { return $"pod {method} {new Uri(url).AbsolutePath}"; }
        if (url.Contains("/documents:", StringComparison.Ordinal)) { return $"firestore {url[(url.LastIndexOf(':') + 1)..].Split('?')[0]}"; }
        if (url.Contains("/documents/", StringComparison.Ordinal)) { return $"firestore {method} document"; }
        if (url.Contains("/upload/", StringComparison.Ordinal))
        {
            // The library's resumable upload: a POST naming the object opens the session, a PUT to it carries the bytes.
            if (url.Contains("upload_id=", StringComparison.Ordinal)) { return "storage upload: bytes (blob or manifest)"; }
            return url.Contains("name=blobs", StringComparison.Ordinal) ? "storage upload blob: session" : "storage upload manifest: session";
        }
        if (url.Contains("alt=media", StringComparison.Ordinal)) { return "storage download"; }
        if (url.Contains("/o/blobs", StringComparison.Ordinal)) { return $"storage {method} blob metadata"; }
        return $"storage {method} other";
    }

    private static TimeSpan Median(IEnumerable<TimeSpan> values)
    {
        var sorted = values.Order().ToList();
        return sorted.Count == 0 ? TimeSpan.Zero : sorted[sorted.Count / 2];
    }

    public void Dispose() => _listener.Dispose();

    private sealed record Step(string Name, TimeSpan Start, TimeSpan End);

    private sealed record Round(List<Step> Steps, TimeSpan Total);
}
