using System.ComponentModel.DataAnnotations;

namespace StoryDream.Api.Exports;

internal sealed class ExportOptions
{
    public const string SectionName = "Exports";

    /// <summary>Renders running at once across every API replica (each holds a render pod of about 2.2 GB at peak).</summary>
    [Range(1, 1000)]
    public int MaxConcurrentRenders { get; set; } = 2;

    /// <summary>Exports one user may have queued or running at once; more answer 429.</summary>
    [Range(1, 1000)]
    public int MaxActivePerUser { get; set; } = 3;

    /// <summary>
    /// Render pods each API replica keeps started ahead, their renderer loaded and browser open, so that an export or a
    /// thumbnail skips the pod's start. Each holds a render pod's resources while it waits (in Kubernetes, its requests
    /// on the render nodes); 0 starts every render pod on demand.
    /// </summary>
    [Range(0, 20)]
    public int WarmRenderPods { get; set; } = 1;

    /// <summary>How often the worker asks a render pod for its progress.</summary>
    [Range(typeof(TimeSpan), "00:00:00.050", "00:01:00")]
    public TimeSpan PollInterval { get; set; } = TimeSpan.FromMilliseconds(250);

    /// <summary>
    /// How often, while a render runs, the worker reads the export record (a cancel) and writes its progress (which live
    /// clients are told). The pod is still asked every <see cref="PollInterval"/>, so its end is seen at once; the record
    /// is not read and written four times a second while the render needs the machine's cores.
    /// </summary>
    [Range(typeof(TimeSpan), "00:00:00.050", "00:01:00")]
    public TimeSpan ProgressInterval { get; set; } = TimeSpan.FromSeconds(1);

    /// <summary>A render whose <c>lastUpdate</c> is older than this is stale (DESIGN section 10): failed, and retried once.</summary>
    [Range(typeof(TimeSpan), "00:00:01", "01:00:00")]
    public TimeSpan StaleAfter { get; set; } = TimeSpan.FromSeconds(60);

    /// <summary>Attempts per export: the first, and one retry after a stale or killed render pod.</summary>
    [Range(1, 5)]
    public int MaxAttempts { get; set; } = 2;

    /// <summary>How long the render pod's start and hydrate may take.</summary>
    [Range(typeof(TimeSpan), "00:00:05", "00:30:00")]
    public TimeSpan StartTimeout { get; set; } = TimeSpan.FromMinutes(3);

    /// <summary>The longest render the platform waits for, whatever progress it reports.</summary>
    [Range(typeof(TimeSpan), "00:00:10", "06:00:00")]
    public TimeSpan RenderTimeout { get; set; } = TimeSpan.FromHours(1);
}
