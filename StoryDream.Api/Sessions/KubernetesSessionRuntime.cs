using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using k8s;
using k8s.Autorest;
using k8s.Exceptions;
using k8s.Models;
using Microsoft.Extensions.Options;
using StoryDream.Kubernetes;

namespace StoryDream.Api.Sessions;

/// <summary>
/// Runs each session as a pod in the sessions namespace, built from <see cref="SessionPodTemplate"/> (the definition the
/// published manifests hold) plus what belongs to one session: its name, labels and environment. The cluster is the
/// state: pods are found again after an API restart by their labels, so nothing is kept here.
/// </summary>
internal sealed partial class KubernetesSessionRuntime(
    IKubernetes client,
    IOptions<SessionOptions> options,
    TimeProvider time,
    ILogger<KubernetesSessionRuntime> logger) : ISessionRuntime
{
    private static readonly TimeSpan FirstPoll = TimeSpan.FromMilliseconds(100);
    private static readonly TimeSpan LongestPoll = TimeSpan.FromSeconds(1);

    // Waiting reasons the kubelet does not recover from without a change to the pod or the cluster. ErrImagePull is not
    // among them: a pull that fails once is retried, and turns into ImagePullBackOff when it keeps failing.
    private static readonly HashSet<string> FatalWaitingReasons = new(StringComparer.Ordinal)
    {
        "ImagePullBackOff", "CrashLoopBackOff", "InvalidImageName", "ErrImageNeverPull", "CreateContainerConfigError", "CreateContainerError",
    };

    private readonly SessionOptions _options = options.Value;
    private KubernetesRuntimeOptions Kube => _options.Kubernetes;

    public string Name => "kubernetes";

    /// <summary>Pods of this platform's sessions: the labels every pod from the template carries, and a session id.</summary>
    internal static string LabelSelector =>
        $"{KubernetesNames.NameLabel}={KubernetesNames.SessionPodName},{KubernetesNames.PartOfLabel}={KubernetesNames.PartOf},{KubernetesNames.SessionIdLabel}";

    /// <summary>The client configuration: the configured API server, else the pod's service account, else kubeconfig.</summary>
    public static KubernetesClientConfiguration ClientConfiguration(KubernetesRuntimeOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        KubernetesClientConfiguration configuration;
        if (options.ApiServer is { Length: > 0 } server)
        {
            configuration = new KubernetesClientConfiguration { Host = server };
        }
        else if (KubernetesClientConfiguration.IsInCluster())
        {
            configuration = KubernetesClientConfiguration.InClusterConfig();
        }
        else
        {
            try
            {
                configuration = KubernetesClientConfiguration.BuildConfigFromConfigFile();
            }
            catch (Exception e) when (e is KubeConfigException or FileNotFoundException or IOException)
            {
                throw new InvalidOperationException(
                    "Sessions:Runtime is 'kubernetes' but no API server is reachable: not running in a cluster, no kubeconfig, and no Sessions:Kubernetes:ApiServer.", e);
            }
        }
        // Every call is short; a hung API server must not hold a start or a stop for the client's default 100 s.
        configuration.HttpClientTimeout = TimeSpan.FromSeconds(30);
        return configuration;
    }

    /// <summary>The pod for a session: the template's, with the session's name, labels and environment.</summary>
    internal V1Pod PodFor(string sessionId, string projectId, PodLaunch launch)
    {
        ArgumentNullException.ThrowIfNull(launch);
        var pod = SessionPodTemplate.ForSession(_options.PodImage ?? "", sessionId, projectId, new SessionPlacement(Kube.RuntimeClassName, Kube.NodePool));
        pod.Metadata.NamespaceProperty = _options.Namespace;
        var container = pod.Spec.Containers.Single(c => c.Name == KubernetesNames.SessionPodName);
        var environment = new Dictionary<string, string>(Kube.Environment, StringComparer.Ordinal)
        {
            ["STORYDREAM_SESSION_ID"] = sessionId,
            ["STORYDREAM_PROJECT_ID"] = projectId,
            ["PREVIEW_BASE"] = _options.PreviewBasePath(sessionId),
        };
        foreach (var (key, value) in launch.Environment(sessionId, _options, Kube.Environment)) { environment[key] = value; }
        container.Env = [.. container.Env.Where(v => !environment.ContainsKey(v.Name)), .. environment.Select(v => new V1EnvVar { Name = v.Key, Value = v.Value })];
        return pod;
    }

    public async Task<PodEndpoints> CreateAsync(string sessionId, string projectId, PodLaunch launch, CancellationToken cancellationToken)
    {
        ValidateId(sessionId);
        var pod = PodFor(sessionId, projectId, launch);
        try
        {
            await client.CoreV1.CreateNamespacedPodAsync(pod, _options.Namespace, cancellationToken: cancellationToken);
        }
        catch (HttpOperationException e) when (e.Response.StatusCode == HttpStatusCode.Conflict)
        {
            // Session ids are never reused, so this pod belongs to someone else's start of it: not ours to delete.
            throw new InvalidOperationException($"Session pod {pod.Metadata.Name} already exists in namespace {_options.Namespace}.", e);
        }
        catch (HttpOperationException e)
        {
            throw ApiError($"create session pod {pod.Metadata.Name}", e);
        }
        catch
        {
            // Cancelled or cut off after the request left: the API server may have created the pod all the same.
            await DeleteAfterFailedStartAsync(sessionId);
            throw;
        }

        try
        {
            var endpoints = Endpoints(await WaitForReadyAsync(pod.Metadata.Name, cancellationToken));
            LogPodStarted(logger, sessionId, pod.Metadata.Name, endpoints.PreviewUrl);
            return endpoints;
        }
        catch
        {
            await DeleteAfterFailedStartAsync(sessionId);
            throw;
        }
    }

    /// <summary>The pod for a render: the template's render pod with its identity and pod secret, and no model access.</summary>
    internal V1Pod RenderPodFor(string renderId, string? projectId, string podSecret)
    {
        var pod = SessionPodTemplate.ForRender(_options.PodImage ?? "", renderId, projectId, new SessionPlacement(Kube.RuntimeClassName, Kube.NodePool));
        pod.Metadata.NamespaceProperty = _options.Namespace;
        var container = pod.Spec.Containers.Single(c => c.Name == KubernetesNames.SessionPodName);
        var environment = PodLaunch.RenderEnvironment(renderId, podSecret);
        container.Env = [.. container.Env.Where(v => !environment.ContainsKey(v.Name)), .. environment.Select(v => new V1EnvVar { Name = v.Key, Value = v.Value })];
        return pod;
    }

    public async Task<RenderPodEndpoints> CreateRenderAsync(string renderId, string? projectId, string podSecret, CancellationToken cancellationToken)
    {
        ArgumentException.ThrowIfNullOrEmpty(podSecret);
        ValidateId(renderId);
        var pod = RenderPodFor(renderId, projectId, podSecret);
        try
        {
            await client.CoreV1.CreateNamespacedPodAsync(pod, _options.Namespace, cancellationToken: cancellationToken);
            var ip = await WaitForReadyAsync(pod.Metadata.Name, cancellationToken);
            return new RenderPodEndpoints(PodUrl(ip, SessionPodTemplate.FilesPort), PodUrl(ip, SessionPodTemplate.RenderPort));
        }
        catch (HttpOperationException e)
        {
            await DeleteAfterFailedRenderStartAsync(renderId);
            throw ApiError($"create render pod {pod.Metadata.Name}", e);
        }
        catch
        {
            await DeleteAfterFailedRenderStartAsync(renderId);
            throw;
        }
    }

    public async Task DeleteRenderAsync(string renderId, CancellationToken cancellationToken)
    {
        ValidateId(renderId);
        await DeletePodAsync(SessionPodTemplate.RenderPodName(renderId), cancellationToken);
    }

    public async Task<bool> IsRenderAliveAsync(string renderId, CancellationToken cancellationToken)
    {
        ValidateId(renderId);
        return await ReadAsync(SessionPodTemplate.RenderPodName(renderId), cancellationToken) is { } pod && IsAlive(pod);
    }

    private async Task DeleteAfterFailedRenderStartAsync(string renderId)
    {
        try
        {
            await DeleteRenderAsync(renderId, CancellationToken.None);
        }
        catch (Exception e) when (e is InvalidOperationException or HttpRequestException or TaskCanceledException)
        {
            LogCleanupFailed(logger, e, renderId);
        }
    }

    public async Task DeleteAsync(string sessionId, CancellationToken cancellationToken)
    {
        ValidateId(sessionId);
        await DeletePodAsync(SessionPodTemplate.PodName(sessionId), cancellationToken);
        LogPodDeleted(logger, sessionId, SessionPodTemplate.PodName(sessionId));
    }

    private async Task DeletePodAsync(string name, CancellationToken cancellationToken)
    {
        try
        {
            await client.CoreV1.DeleteNamespacedPodAsync(name, _options.Namespace, cancellationToken: cancellationToken);
        }
        catch (HttpOperationException e) when (e.Response.StatusCode == HttpStatusCode.NotFound)
        {
            // Already gone: deleting twice, or a pod someone else removed.
        }
        catch (HttpOperationException e)
        {
            throw ApiError($"delete pod {name}", e);
        }
    }

    public async Task<bool> IsAliveAsync(string sessionId, CancellationToken cancellationToken)
    {
        ValidateId(sessionId);
        return await ReadAsync(SessionPodTemplate.PodName(sessionId), cancellationToken) is { } pod && IsAlive(pod);
    }

    public async Task<IReadOnlyList<RunningPod>> ListAsync(CancellationToken cancellationToken)
    {
        V1PodList list;
        try
        {
            list = await client.CoreV1.ListNamespacedPodAsync(_options.Namespace, labelSelector: LabelSelector, cancellationToken: cancellationToken);
        }
        catch (HttpOperationException e)
        {
            throw ApiError("list session pods", e);
        }

        var pods = new List<RunningPod>();
        foreach (var pod in list.Items)
        {
            var labels = pod.Metadata?.Labels;
            // Only pods named and labelled the way CreateAsync makes them are ours to adopt or delete.
            if (labels is null || !labels.TryGetValue(KubernetesNames.SessionIdLabel, out var sessionId) || !IsSessionId(sessionId)
                || pod.Metadata!.Name != SessionPodTemplate.PodName(sessionId) || !labels.TryGetValue(KubernetesNames.ProjectIdLabel, out var projectId)
                || pod.Metadata.DeletionTimestamp is not null)
            {
                continue;
            }
            if (IsAlive(pod))
            {
                pods.Add(new RunningPod(sessionId, projectId, Endpoints(pod.Status!.PodIP!)));
                continue;
            }
            // A pod not Ready within the grace is a start in progress (perhaps another replica's) or a missed probe.
            if (pod.Status?.Phase is "Failed" or "Succeeded" || time.GetUtcNow() - NotReadySince(pod) >= Kube.NotReadyGrace)
            {
                LogDeadPodDeleted(logger, sessionId, pod.Metadata.Name, Describe(pod));
                await DeleteAsync(sessionId, cancellationToken);
            }
        }
        return pods;
    }

    /// <summary>
    /// Deletes what a failed start left, keeping the start's own error: a pod that cannot be deleted now is found and
    /// deleted by a later <see cref="ListAsync"/> once its grace has passed.
    /// </summary>
    private async Task DeleteAfterFailedStartAsync(string sessionId)
    {
        try
        {
            await DeleteAsync(sessionId, CancellationToken.None);
        }
        catch (Exception e) when (e is InvalidOperationException or HttpRequestException or TaskCanceledException)
        {
            LogCleanupFailed(logger, e, sessionId);
        }
    }

    /// <summary>Waits for the pod to be Running and Ready; returns its address.</summary>
    private async Task<string> WaitForReadyAsync(string name, CancellationToken cancellationToken)
    {
        var started = Stopwatch.GetTimestamp();
        var delay = FirstPoll;
        var last = "not created yet";
        // Real time on purpose: the cluster starts pods in wall-clock time whatever clock the sessions keep.
        while (Stopwatch.GetElapsedTime(started) < Kube.ReadyTimeout)
        {
            var pod = await ReadAsync(name, cancellationToken)
                ?? throw new InvalidOperationException($"Session pod {name} was deleted while it started.");
            if (pod.Metadata.DeletionTimestamp is not null)
            {
                throw new InvalidOperationException($"Session pod {name} is being deleted while it started.");
            }
            if (IsReady(pod) && pod.Status!.Phase == "Running" && IsPodIp(pod.Status.PodIP))
            {
                return pod.Status.PodIP!;
            }
            if (FailureReason(pod) is { } failure)
            {
                throw new InvalidOperationException($"Session pod {name} failed to start: {failure}.");
            }
            last = Describe(pod);
            await Task.Delay(delay, cancellationToken);
            delay = TimeSpan.FromTicks(Math.Min(delay.Ticks * 2, LongestPoll.Ticks));
        }
        throw new TimeoutException($"Session pod {name} was not Ready within {Kube.ReadyTimeout.TotalSeconds:0} s (last seen: {last}).");
    }

    private async Task<V1Pod?> ReadAsync(string name, CancellationToken cancellationToken)
    {
        try
        {
            return await client.CoreV1.ReadNamespacedPodAsync(name, _options.Namespace, cancellationToken: cancellationToken);
        }
        catch (HttpOperationException e) when (e.Response.StatusCode == HttpStatusCode.NotFound)
        {
            return null;
        }
        catch (HttpOperationException e)
        {
            throw ApiError($"read session pod {name}", e);
        }
    }

    /// <summary>
    /// Running with an address, not being deleted, and Ready, or not Ready only for less than the grace: a pod that misses
    /// a few readiness probes under load still holds the session's unsynced work.
    /// </summary>
    private bool IsAlive(V1Pod pod) =>
        pod.Metadata.DeletionTimestamp is null && pod.Status?.Phase == "Running" && IsPodIp(pod.Status.PodIP)
        && (IsReady(pod) || time.GetUtcNow() - NotReadySince(pod) < Kube.NotReadyGrace);

    private static bool IsReady(V1Pod pod) =>
        pod.Status?.Conditions?.Any(c => c.Type == "Ready" && c.Status == "True") == true;

    private DateTimeOffset NotReadySince(V1Pod pod)
    {
        var since = pod.Status?.Conditions?.FirstOrDefault(c => c.Type == "Ready")?.LastTransitionTime ?? pod.Metadata.CreationTimestamp;
        return since is { } value ? new DateTimeOffset(DateTime.SpecifyKind(value, DateTimeKind.Utc)) : time.GetUtcNow();
    }

    /// <summary>Why the pod will never become Ready, or null while it still may.</summary>
    private static string? FailureReason(V1Pod pod)
    {
        var status = pod.Status;
        var containers = status?.ContainerStatuses ?? [];
        if (status?.Phase is "Failed" or "Succeeded")
        {
            var terminated = containers.Select(c => c.State?.Terminated).FirstOrDefault(t => t is not null);
            var detail = terminated is not null
                ? $"container exited with code {terminated.ExitCode} ({Join(terminated.Reason, terminated.Message)})"
                : Join(status.Reason, status.Message);
            return $"phase {status.Phase}: {detail}";
        }
        return containers.Select(c => c.State?.Waiting).FirstOrDefault(w => w?.Reason is { } reason && FatalWaitingReasons.Contains(reason)) is { } waiting
            ? Join(waiting.Reason, waiting.Message)
            : null;
    }

    /// <summary>The pod's state in a few words, for logs and timeout errors.</summary>
    private static string Describe(V1Pod pod)
    {
        var status = pod.Status;
        var parts = new List<string> { $"phase {status?.Phase ?? "unknown"}" };
        if (status?.Conditions?.FirstOrDefault(c => c.Type == "PodScheduled" && c.Status != "True") is { } unscheduled)
        {
            parts.Add($"not scheduled ({Join(unscheduled.Reason, unscheduled.Message)})");
        }
        foreach (var waiting in (status?.ContainerStatuses ?? []).Select(c => c.State?.Waiting).OfType<V1ContainerStateWaiting>())
        {
            parts.Add($"container waiting ({Join(waiting.Reason, waiting.Message)})");
        }
        if (status?.Phase == "Running" && !IsReady(pod)) { parts.Add("not Ready"); }
        return string.Join(", ", parts);
    }

    private static string Join(string? reason, string? message) =>
        (reason, message) switch
        {
            ({ Length: > 0 }, { Length: > 0 }) => $"{reason}: {message}",
            ({ Length: > 0 }, _) => reason,
            (_, { Length: > 0 }) => message,
            _ => "no reason given",
        };

    private static PodEndpoints Endpoints(string podIp) =>
        new(PodUrl(podIp, SessionPodTemplate.PreviewPort), PodUrl(podIp, SessionPodTemplate.AgentPort), PodUrl(podIp, SessionPodTemplate.FilesPort));

    private static Uri PodUrl(string podIp, int port)
    {
        var address = IPAddress.Parse(podIp);
        var host = address.AddressFamily == AddressFamily.InterNetworkV6 ? $"[{address}]" : address.ToString();
        return new Uri($"http://{host}:{port}/");
    }

    private static bool IsPodIp(string? value) => value is { Length: > 0 } && IPAddress.TryParse(value, out _);

    private static InvalidOperationException ApiError(string what, HttpOperationException e)
    {
        var body = e.Response.Content is { Length: > 0 } content ? content.Length <= 500 ? content : content[..500] : "";
        return new InvalidOperationException($"The Kubernetes API refused to {what}: {(int)e.Response.StatusCode} {e.Response.StatusCode}. {body}".TrimEnd(), e);
    }

    private static bool IsSessionId(string value) => Guid.TryParseExact(value, "D", out var parsed) && parsed.ToString("D") == value;

    private static void ValidateId(string sessionId)
    {
        // The id becomes a pod name and a label value: a canonical UUID is always a valid one.
        if (!IsSessionId(sessionId))
        {
            throw new ArgumentException("A session id is a lower-case UUID.", nameof(sessionId));
        }
    }

    [LoggerMessage(EventId = 2111, Level = LogLevel.Information, Message = "Session pod {SessionId} started as pod {PodName}; preview at {PreviewUrl}")]
    private static partial void LogPodStarted(ILogger logger, string sessionId, string podName, Uri previewUrl);

    [LoggerMessage(EventId = 2112, Level = LogLevel.Information, Message = "Session pod {SessionId} deleted (pod {PodName})")]
    private static partial void LogPodDeleted(ILogger logger, string sessionId, string podName);

    [LoggerMessage(EventId = 2113, Level = LogLevel.Warning, Message = "Deleting dead session pod {SessionId} (pod {PodName}): {State}")]
    private static partial void LogDeadPodDeleted(ILogger logger, string sessionId, string podName, string state);

    [LoggerMessage(EventId = 2114, Level = LogLevel.Warning, Message = "Could not delete session pod {SessionId} after its start failed; a later reconcile will")]
    private static partial void LogCleanupFailed(ILogger logger, Exception exception, string sessionId);
}
