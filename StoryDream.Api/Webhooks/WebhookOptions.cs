using System.ComponentModel.DataAnnotations;

namespace StoryDream.Api.Webhooks;

/// <summary>The <c>Webhooks</c> section: where deliveries may go, and how long they are retried.</summary>
public sealed class WebhookOptions
{
    public const string SectionName = "Webhooks";

    /// <summary>Only <c>https</c> destinations; turn off for local development and tests only.</summary>
    public bool RequireHttps { get; set; } = true;

    /// <summary>
    /// Loopback destinations (127.0.0.0/8, ::1) for local development and tests. Link-local, private and metadata addresses
    /// stay refused whatever this says.
    /// </summary>
    public bool AllowLoopback { get; set; }

    /// <summary>An attempt that has no answer in this time counts as failed.</summary>
    [Range(typeof(TimeSpan), "00:00:00.100", "00:01:00")]
    public TimeSpan AttemptTimeout { get; set; } = TimeSpan.FromSeconds(10);

    /// <summary>How long a delivery is retried after it was created (Stripe retries for days, GitHub not at all).</summary>
    [Range(typeof(TimeSpan), "00:00:01", "7.00:00:00")]
    public TimeSpan RetryWindow { get; set; } = TimeSpan.FromHours(24);

    /// <summary>The wait after the first failed attempt; it doubles after each further one, up to <see cref="MaxRetryDelay"/>.</summary>
    [Range(typeof(TimeSpan), "00:00:00.010", "01:00:00")]
    public TimeSpan FirstRetryDelay { get; set; } = TimeSpan.FromSeconds(10);

    [Range(typeof(TimeSpan), "00:00:00.010", "1.00:00:00")]
    public TimeSpan MaxRetryDelay { get; set; } = TimeSpan.FromHours(1);

    /// <summary>An endpoint whose deliveries have failed without a success for this long is disabled.</summary>
    [Range(typeof(TimeSpan), "00:00:01", "30.00:00:00")]
    public TimeSpan DisableAfter { get; set; } = TimeSpan.FromDays(3);

    /// <summary>How often each API process looks for due deliveries another process scheduled (its own are sent at once).</summary>
    [Range(typeof(TimeSpan), "00:00:00.010", "00:01:00")]
    public TimeSpan PollInterval { get; set; } = TimeSpan.FromSeconds(1);

    [Range(1, 256)]
    public int MaxConcurrentDeliveries { get; set; } = 16;
}
