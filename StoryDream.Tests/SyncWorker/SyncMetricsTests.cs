using System.Collections.Concurrent;
using System.Diagnostics.Metrics;
using System.Security.Cryptography;
using StoryDream.Sessions;
using StoryDream.SyncWorker;
using StoryDream.Tests.Infrastructure;

namespace StoryDream.Tests.SyncWorker;

public sealed class SyncMetricsTests(TestServers servers)
{
    [Fact]
    public async Task Sync_OneChangedFileAndOneFailure_AreMeasured()
    {
        await using var bed = await SyncTestBed.CreateAsync(servers);
        var (projectId, _) = await bed.CreateProjectAsync(new Dictionary<string, byte[]> { ["src/App.tsx"] = "export {};\n"u8.ToArray() });
        await using var pod = await PodProcess.StartAsync();
        pod.WriteFile("src/App.tsx", "export {};\n"u8.ToArray());
        var changed = RandomNumberGenerator.GetBytes(12_345);
        pod.WriteFile("src/changed.bin", changed);
        var sessionId = await bed.StartSessionAsync(projectId, pod);
        var worker = await bed.StartWorkerAsync();
        var meterFactory = worker.Get<IMeterFactory>();
        var measurements = new ConcurrentBag<(string Instrument, double Value, Dictionary<string, object?> Tags)>();
        using var listener = new MeterListener();
        listener.InstrumentPublished = (instrument, l) =>
        {
            // Only this test's worker: other tests' workers in this process publish on meters of their own factories.
            if (instrument.Meter.Name == SyncMetrics.MeterName && ReferenceEquals(instrument.Meter.Scope, meterFactory)) { l.EnableMeasurementEvents(instrument); }
        };
        listener.SetMeasurementEventCallback<long>((instrument, value, tags, _) => measurements.Add((instrument.Name, value, ToDictionary(tags))));
        listener.SetMeasurementEventCallback<double>((instrument, value, tags, _) => measurements.Add((instrument.Name, value, ToDictionary(tags))));
        listener.Start();

        await bed.WaitForEventAsync((await bed.EnqueueAsync(SyncKinds.Sync, projectId, sessionId)).JobId);
        await bed.WaitForEventAsync((await bed.EnqueueAsync(SyncKinds.Sync, projectId, Guid.NewGuid().ToString())).JobId);

        var durations = measurements.Where(m => m.Instrument == "storydream.sync.duration").ToList();
        Assert.Contains(durations, m => (string?)m.Tags["outcome"] == "done" && (string?)m.Tags["kind"] == "sync" && m.Value > 0);
        Assert.Contains(durations, m => (string?)m.Tags["outcome"] == "failed");
        Assert.Equal(changed.Length, measurements.Where(m => m.Instrument == "storydream.sync.bytes" && (string?)m.Tags["direction"] == "upload").Sum(m => m.Value));
        Assert.Equal(1, measurements.Where(m => m.Instrument == "storydream.sync.files" && (string?)m.Tags["direction"] == "pod-read").Sum(m => m.Value));
        Assert.Single(measurements, m => m.Instrument == "storydream.sync.failures" && (string?)m.Tags["reason"] == "refused");
    }

    private static Dictionary<string, object?> ToDictionary(ReadOnlySpan<KeyValuePair<string, object?>> tags)
    {
        var map = new Dictionary<string, object?>(StringComparer.Ordinal);
        foreach (var tag in tags) { map[tag.Key] = tag.Value; }
        return map;
    }
}
