using System.ComponentModel.DataAnnotations;

namespace StoryDream.SessionGateway.Models;

/// <summary>
/// The <c>ModelProxy</c> section: the gateway's internal listener that session pods reach the model through (DESIGN
/// section 8). It holds the platform's model key; pods hold only their session's token.
/// </summary>
internal sealed class ModelProxyOptions
{
    public const string SectionName = "ModelProxy";

    /// <summary>The internal port; 0 turns the proxy off. Never routed by the Ingress: only pods reach it (NetworkPolicy).</summary>
    [Range(0, 65535)]
    public int Port { get; set; }

    /// <summary>The platform's Anthropic key: a Kubernetes Secret in production, configuration locally. Required when <see cref="Port"/> is set.</summary>
    public string? ApiKey { get; set; }

    /// <summary>Where the Messages API is.</summary>
    public Uri Upstream { get; set; } = new("https://api.anthropic.com/");

    /// <summary>Input, output and cache-write tokens one user may spend per UTC day.</summary>
    [Range(1, long.MaxValue)]
    public long DailyTokenBudget { get; set; } = 5_000_000;

    /// <summary>How long the upstream may take to start answering before the agent is told the model is unavailable.</summary>
    [Range(typeof(TimeSpan), "00:00:01", "00:10:00")]
    public TimeSpan UpstreamTimeout { get; set; } = TimeSpan.FromSeconds(60);

    /// <summary>How long a stream may go without a byte from the upstream before it is cut.</summary>
    [Range(typeof(TimeSpan), "00:00:01", "00:30:00")]
    public TimeSpan StreamIdleTimeout { get; set; } = TimeSpan.FromMinutes(2);

    public bool Enabled => Port > 0;
}
