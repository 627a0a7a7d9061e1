using StoryDream.Api.Sessions;
using StoryDream.Sessions;

namespace StoryDream.Api.Exports;

/// <summary>A render pod that is up, has proven who it is, and holds a snapshot's files; its secret goes with every request.</summary>
internal sealed record HydratedRenderPod(string PodId, Uri RenderUrl, string PodSecret)
{
    public override string ToString() => $"render pod {PodId} at {RenderUrl}";
}

/// <summary>Thrown when a render cannot run for a reason a retry will not change (an unknown snapshot, say).</summary>
internal sealed class RenderRefusedException(string message) : Exception(message);

/// <summary>
/// Starts render pods through the session runtime and has the sync worker hydrate them, as it does session pods: the
/// <c>render:{podId}</c> key tells the worker where the pod's file API is and the pod secret it must prove. Like a session
/// pod, a render pod gets nothing but its own random secret (DESIGN section 8).
/// </summary>
internal sealed class RenderPods(ISessionRuntime runtime, SyncJobs syncJobs, ExportQueue queue, RenderPodClient renders)
{
    public async Task<HydratedRenderPod> StartAsync(string podId, string projectId, string snapshotId, TimeSpan timeout, CancellationToken cancellationToken)
    {
        using var deadline = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        deadline.CancelAfter(timeout);
        var podSecret = PodCredentials.NewPodSecret();
        var endpoints = await runtime.CreateRenderAsync(podId, projectId, podSecret, deadline.Token);
        if (await renders.VerifyAsync(podId, endpoints.RenderUrl, podSecret, deadline.Token) is { } reason)
        {
            throw new HttpRequestException($"The pod at {endpoints.RenderUrl} is not render pod {podId}: {reason}.");
        }
        await queue.SetRenderPodAsync(podId, projectId, endpoints.FilesUrl, podSecret);
        var job = new SyncJob(Guid.NewGuid().ToString("D"), SyncKinds.Hydrate, projectId, podId, SyncReasons.Render, SnapshotId: snapshotId);
        var result = await syncJobs.RunAsync(job, timeout, deadline.Token);
        if (result.Status != SyncEvent.Done)
        {
            throw new RenderRefusedException($"The project's files could not be loaded into the render pod: {result.Error}");
        }
        return new HydratedRenderPod(podId, endpoints.RenderUrl, podSecret);
    }

    public async Task DeleteAsync(string podId)
    {
        await runtime.DeleteRenderAsync(podId, CancellationToken.None);
        await queue.ClearRenderPodAsync(podId);
    }

    public Task<bool> IsAliveAsync(string podId, CancellationToken cancellationToken) => runtime.IsRenderAliveAsync(podId, cancellationToken);
}
