namespace StoryDream.Api.Sessions;

/// <summary>
/// What a session's pod is given at start besides its workspace (DESIGN section 8): the pod secret its callers send and
/// it proves itself with, and the model token it reaches the model proxy with. Never the platform's model key.
/// </summary>
internal sealed record PodLaunch(string PodSecret, string ModelToken)
{
    // Variables only the runtime sets: configured pod environment may not replace them, and may not hand pods a model key.
    internal static readonly string[] ReservedVariables =
        ["STORYDREAM_SESSION_ID", "STORYDREAM_POD_SECRET", "ANTHROPIC_API_KEY", "ANTHROPIC_AUTH_TOKEN", "ANTHROPIC_BASE_URL"];

    /// <summary>
    /// The session's variables: identity and secret, and the model proxy with the session's token when one is configured.
    /// Without a model proxy the pod runs the scripted agent unless the configured environment picks an agent itself.
    /// </summary>
    public Dictionary<string, string> Environment(string sessionId, SessionOptions options, IReadOnlyDictionary<string, string> configured)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(configured);
        var environment = new Dictionary<string, string>(StringComparer.Ordinal)
        {
            ["STORYDREAM_SESSION_ID"] = sessionId,
            ["STORYDREAM_POD_SECRET"] = PodSecret,
        };
        if (options.ModelProxyUrl is { Length: > 0 } proxy)
        {
            // The SDK sends ANTHROPIC_API_KEY as x-api-key; here it is the session's revocable token, not a key.
            environment["ANTHROPIC_BASE_URL"] = proxy.TrimEnd('/');
            environment["ANTHROPIC_API_KEY"] = ModelToken;
        }
        else if (!configured.ContainsKey("STORYDREAM_AGENT"))
        {
            environment["STORYDREAM_AGENT"] = "scripted";
        }
        return environment;
    }

    /// <summary>
    /// A render pod's variables: its identity (the render's id) and its own pod secret, nothing else. A render runs no
    /// agent, so it gets neither the model proxy nor a model token.
    /// </summary>
    public static Dictionary<string, string> RenderEnvironment(string renderId, string podSecret) => new(StringComparer.Ordinal)
    {
        ["STORYDREAM_SESSION_ID"] = renderId,
        ["STORYDREAM_POD_SECRET"] = podSecret,
    };
}
