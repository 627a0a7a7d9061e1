namespace StoryDream.Api.Sessions;

/// <summary>Where a pod's three ports are reached from inside the platform.</summary>
internal sealed record PodEndpoints(Uri PreviewUrl, Uri AgentUrl, Uri FilesUrl);

/// <summary>Where a render pod's file API (hydrated like a session's) and render API are reached.</summary>
internal sealed record RenderPodEndpoints(Uri FilesUrl, Uri RenderUrl);

/// <summary>A pod the runtime found running, for adoption after an API restart.</summary>
internal sealed record RunningPod(string SessionId, string ProjectId, PodEndpoints Endpoints);

/// <summary>
/// Creates and deletes session pods: <c>local</c> runs a <c>session-pod</c> process per session, <c>kubernetes</c> a pod from
/// the session pod template. Everything above it (records, hydrate, teardown) is the same for both.
/// </summary>
internal interface ISessionRuntime
{
    string Name { get; }

    /// <summary>Starts a pod with the session's credentials and returns once its servers listen.</summary>
    Task<PodEndpoints> CreateAsync(string sessionId, string projectId, PodLaunch launch, CancellationToken cancellationToken);

    /// <summary>Stops the pod and removes its workspace; deleting one that is already gone is not an error.</summary>
    Task DeleteAsync(string sessionId, CancellationToken cancellationToken);

    /// <summary>Whether the session's pod still runs: a pod that crashed or was killed is not alive.</summary>
    Task<bool> IsAliveAsync(string sessionId, CancellationToken cancellationToken);

    /// <summary>Pods that are alive now; dead ones found on the way are cleaned up.</summary>
    Task<IReadOnlyList<RunningPod>> ListAsync(CancellationToken cancellationToken);

    /// <summary>
    /// Starts a render pod (the session pod image in render mode, with its own resources) and returns once it listens.
    /// <paramref name="projectId"/> labels it; a warm pod, started before it has a project, has none.
    /// </summary>
    Task<RenderPodEndpoints> CreateRenderAsync(string renderId, string? projectId, string podSecret, CancellationToken cancellationToken);

    /// <summary>Stops a render pod and removes its workspace; one already gone is not an error.</summary>
    Task DeleteRenderAsync(string renderId, CancellationToken cancellationToken);

    /// <summary>Whether the render pod still runs: one that crashed, was killed or evicted is not.</summary>
    Task<bool> IsRenderAliveAsync(string renderId, CancellationToken cancellationToken);
}
