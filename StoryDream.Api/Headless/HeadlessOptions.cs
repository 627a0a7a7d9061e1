using System.ComponentModel.DataAnnotations;

namespace StoryDream.Api.Headless;

/// <summary>The <c>Headless</c> section: the job runner that lives in every API process.</summary>
public sealed class HeadlessOptions
{
    public const string SectionName = "Headless";

    /// <summary>The overall deadline of a job, from its creation; past it the job fails saying so.</summary>
    [Range(typeof(TimeSpan), "00:00:05", "1.00:00:00")]
    public TimeSpan JobTimeout { get; set; } = TimeSpan.FromMinutes(30);

    /// <summary>
    /// A job's stream entry left unrenewed this long is taken over by another runner: its process died. Runners renew
    /// their entries every third of it.
    /// </summary>
    [Range(typeof(TimeSpan), "00:00:01", "01:00:00")]
    public TimeSpan ClaimIdleTime { get; set; } = TimeSpan.FromMinutes(1);

    [Range(typeof(TimeSpan), "00:00:00.010", "00:01:00")]
    public TimeSpan ReadBlockTime { get; set; } = TimeSpan.FromSeconds(5);

    [Range(1, 1000)]
    public int MaxConcurrentJobs { get; set; } = 16;
}
