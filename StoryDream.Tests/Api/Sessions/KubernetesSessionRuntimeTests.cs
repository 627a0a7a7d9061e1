using System.Net;
using System.Security.Cryptography;
using k8s;
using k8s.Models;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using StackExchange.Redis;
using StoryDream.Api.Sessions;
using StoryDream.Kubernetes;
using StoryDream.Sessions;
using StoryDream.Tests.Infrastructure;
using StoryDream.Tests.SyncWorker;

namespace StoryDream.Tests.Api.Sessions;

/// <summary>
/// The Kubernetes session runtime against <see cref="StandInKubernetesApi"/>, since no API server can run here: what it
/// sends is checked request by request, and pods are moved through their phases as the kubelet would move them.
/// </summary>
public sealed class KubernetesSessionRuntimeTests(TestServers servers) : IAsyncLifetime
{
    private const string Image = "registry.example.com/storydream/session-pod:0.1.0";
    private const string Namespace = KubernetesNames.SessionsNamespace;
    private StandInKubernetesApi? _api;
    private k8s.Kubernetes? _client;

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    private StandInKubernetesApi Api => _api ?? throw new InvalidOperationException("Not initialized.");

    public async ValueTask InitializeAsync()
    {
        _api = await StandInKubernetesApi.StartAsync();
        _client = new k8s.Kubernetes(KubernetesSessionRuntime.ClientConfiguration(new KubernetesRuntimeOptions { ApiServer = _api.Url.ToString() }));
    }

    public async ValueTask DisposeAsync()
    {
        _client?.Dispose();
        if (_api is not null) { await _api.DisposeAsync(); }
    }

    [Fact(Timeout = 30_000)]
    public async Task CreateAsync_PodBecomesReady_PostsTheTemplatesPodForTheSessionAndReturnsItsIpEndpoints()
    {
        var runtime = Runtime(o => o.Kubernetes.Environment["STORYDREAM_AGENT"] = "scripted");
        var (sessionId, projectId) = NewIds();
        var name = SessionPodTemplate.PodName(sessionId);

        var launch = TestLaunch.For(sessionId);
        var create = runtime.CreateAsync(sessionId, projectId, launch, Ct);
        await Api.WaitForPodAsync(Namespace, name, Ct);
        // A pull that fails once is retried by the kubelet; the start waits through it.
        var reads = Reads(name);
        Api.Update(Namespace, name, pod => Waiting(pod, "ErrImagePull", "i/o timeout"));
        while (Reads(name) < reads + 1) { await Task.Delay(10, Ct); }
        Assert.False(create.IsCompleted);
        Api.Update(Namespace, name, pod => Ready(pod, "10.4.0.17"));
        var endpoints = await create;

        Assert.Equal(new PodEndpoints(new Uri("http://10.4.0.17:3000/"), new Uri("http://10.4.0.17:3001/"), new Uri("http://10.4.0.17:3002/")), endpoints);
        var post = Assert.Single(Api.RequestsTo("POST", $"/api/v1/namespaces/{Namespace}/pods"));
        var sent = KubernetesJson.Deserialize<V1Pod>(post.Body!);
        Assert.Equal(name, sent.Metadata.Name);
        Assert.Equal(Namespace, sent.Metadata.NamespaceProperty);
        var labels = new Dictionary<string, string>(SessionPodTemplate.Labels())
        {
            [KubernetesNames.SessionIdLabel] = sessionId,
            [KubernetesNames.ProjectIdLabel] = projectId,
        };
        Assert.Equal(labels.OrderBy(l => l.Key), sent.Metadata.Labels.OrderBy(l => l.Key));

        // Everything but the environment is the template's, unchanged: image, ports, probes, resources, security.
        var template = SessionPodTemplate.Create(Image);
        var container = Assert.Single(sent.Spec.Containers);
        Assert.Equal(Image, container.Image);
        Assert.Equal([3000, 3001, 3002], container.Ports.Select(p => p.ContainerPort));
        Assert.True(sent.Spec.SecurityContext.RunAsNonRoot);
        Assert.False(sent.Spec.AutomountServiceAccountToken);
        Assert.Equal("2Gi", container.Resources.Limits["memory"].ToString());
        var sentEnvironment = container.Env;
        var templateEnvironment = template.Spec.Containers[0].Env;
        container.Env = null;
        template.Spec.Containers[0].Env = null;
        Assert.Equal(KubernetesJson.Serialize(template.Spec), KubernetesJson.Serialize(sent.Spec));

        var added = new Dictionary<string, string>
        {
            ["STORYDREAM_SESSION_ID"] = sessionId,
            ["STORYDREAM_PROJECT_ID"] = projectId,
            ["PREVIEW_BASE"] = $"/preview/{sessionId}/",
            ["STORYDREAM_AGENT"] = "scripted",
            ["STORYDREAM_POD_SECRET"] = launch.PodSecret,
        };
        Assert.Equal(
            templateEnvironment.Select(v => KubernetesJson.Serialize(v)).Concat(added.Select(v => KubernetesJson.Serialize(new V1EnvVar { Name = v.Key, Value = v.Value }))).Order(),
            sentEnvironment.Select(v => KubernetesJson.Serialize(v)).Order());
    }

    [Fact]
    public void PodFor_ConfiguredVariableTheTemplateSets_ReplacesTheTemplatesValue()
    {
        var runtime = Runtime(o => o.Kubernetes.Environment["HOME"] = "/workspace/home");
        var (sessionId, projectId) = NewIds();

        var environment = runtime.PodFor(sessionId, projectId, TestLaunch.For(sessionId)).Spec.Containers[0].Env;

        Assert.Equal("/workspace/home", Assert.Single(environment, v => v.Name == "HOME").Value);
    }

    [Fact]
    public void RenderPodFor_ModelProxyConfigured_HoldsItsIdentityAndPodSecretButNoModelAccessAndIsPlacedLikeSessions()
    {
        var runtime = Runtime(o =>
        {
            o.ModelProxyUrl = "http://gateway.storydream.svc:8081";
            o.Kubernetes.RuntimeClassName = "gvisor-test";
            o.Kubernetes.NodePool = "renders-and-sessions";
        });
        var (renderId, projectId) = NewIds();
        var secret = PodCredentials.NewPodSecret();

        var pod = runtime.RenderPodFor(renderId, projectId, secret);
        var environment = pod.Spec.Containers.Single().Env.ToDictionary(v => v.Name, v => v.Value);

        Assert.Equal(SessionPodTemplate.RenderPodName(renderId), pod.Metadata.Name);
        Assert.Equal(renderId, environment["STORYDREAM_SESSION_ID"]);
        Assert.Equal(secret, environment["STORYDREAM_POD_SECRET"]);
        Assert.Equal("render", environment["STORYDREAM_MODE"]);
        Assert.DoesNotContain(environment.Keys, name => name.StartsWith("ANTHROPIC_", StringComparison.Ordinal));
        Assert.All(pod.Spec.Containers.Single().Env, v => Assert.Null(v.ValueFrom));
        Assert.Equal("gvisor-test", pod.Spec.RuntimeClassName);
        Assert.False(pod.Spec.AutomountServiceAccountToken);
    }

    [Fact]
    public void RenderPodFor_ProjectOrWarm_LabelledWithTheProjectOnlyWhenItHasOne()
    {
        var runtime = Runtime(_ => { });
        var (renderId, projectId) = NewIds();

        var rendering = runtime.RenderPodFor(renderId, projectId, PodCredentials.NewPodSecret());
        var warm = runtime.RenderPodFor(renderId, null, PodCredentials.NewPodSecret());

        Assert.Equal(projectId, rendering.Metadata.Labels[KubernetesNames.ProjectIdLabel]);
        Assert.False(warm.Metadata.Labels.ContainsKey(KubernetesNames.ProjectIdLabel));
        Assert.Equal(renderId, warm.Metadata.Labels[KubernetesNames.RenderIdLabel]);
        Assert.Equal("render", warm.Metadata.Labels[KubernetesNames.ComponentLabel]);
        Assert.Throws<ArgumentException>(() => runtime.RenderPodFor(renderId, "../other", PodCredentials.NewPodSecret()));
    }

    [Fact(Timeout = 30_000)]
    public async Task CreateAsync_PodNeverReady_TimesOutNamingItsStateAndDeletesIt()
    {
        var runtime = Runtime(o => o.Kubernetes.ReadyTimeout = TimeSpan.FromSeconds(1));
        var (sessionId, projectId) = NewIds();
        var name = SessionPodTemplate.PodName(sessionId);

        var create = runtime.CreateAsync(sessionId, projectId, TestLaunch.For(sessionId), Ct);
        await Api.WaitForPodAsync(Namespace, name, Ct);
        Api.Update(Namespace, name, pod => pod.Status.Conditions =
            [new V1PodCondition { Type = "PodScheduled", Status = "False", Reason = "Unschedulable", Message = "0/3 nodes are available: 3 Insufficient memory." }]);
        var error = await Assert.ThrowsAsync<TimeoutException>(() => create);

        Assert.Contains($"{name} was not Ready within 1 s", error.Message, StringComparison.Ordinal);
        Assert.Contains("Unschedulable: 0/3 nodes are available: 3 Insufficient memory.", error.Message, StringComparison.Ordinal);
        Assert.Single(Api.RequestsTo("DELETE", $"/api/v1/namespaces/{Namespace}/pods/{name}"));
        Assert.Null(Api.Pod(Namespace, name));
    }

    [Fact(Timeout = 30_000)]
    public async Task CreateAsync_ContainerExits_FailsWithTheExitReasonAndDeletesThePod()
    {
        var runtime = Runtime();
        var (sessionId, projectId) = NewIds();
        var name = SessionPodTemplate.PodName(sessionId);

        var create = runtime.CreateAsync(sessionId, projectId, TestLaunch.For(sessionId), Ct);
        await Api.WaitForPodAsync(Namespace, name, Ct);
        Api.Update(Namespace, name, pod =>
        {
            pod.Status.Phase = "Failed";
            pod.Status.ContainerStatuses =
            [
                new V1ContainerStatus
                {
                    Name = KubernetesNames.SessionPodName,
                    Image = Image,
                    ImageID = "",
                    Ready = false,
                    RestartCount = 0,
                    State = new V1ContainerState { Terminated = new V1ContainerStateTerminated { ExitCode = 1, Reason = "Error", Message = "set ANTHROPIC_API_KEY for the Claude agent" } },
                },
            ];
        });
        var error = await Assert.ThrowsAsync<InvalidOperationException>(() => create);

        Assert.Equal($"Session pod {name} failed to start: phase Failed: container exited with code 1 (Error: set ANTHROPIC_API_KEY for the Claude agent).", error.Message);
        Assert.Single(Api.RequestsTo("DELETE", $"/api/v1/namespaces/{Namespace}/pods/{name}"));
        Assert.Null(Api.Pod(Namespace, name));
    }

    [Fact(Timeout = 30_000)]
    public async Task CreateAsync_ImageCannotBePulled_FailsWithTheReasonAndDeletesThePod()
    {
        var runtime = Runtime();
        var (sessionId, projectId) = NewIds();
        var name = SessionPodTemplate.PodName(sessionId);

        var create = runtime.CreateAsync(sessionId, projectId, TestLaunch.For(sessionId), Ct);
        await Api.WaitForPodAsync(Namespace, name, Ct);
        Api.Update(Namespace, name, pod => Waiting(pod, "ImagePullBackOff", $"Back-off pulling image \"{Image}\""));
        var error = await Assert.ThrowsAsync<InvalidOperationException>(() => create);

        Assert.Equal($"Session pod {name} failed to start: ImagePullBackOff: Back-off pulling image \"{Image}\".", error.Message);
        Assert.Null(Api.Pod(Namespace, name));
    }

    [Fact(Timeout = 30_000)]
    public async Task CreateAsync_CancelledWhileWaiting_DeletesThePod()
    {
        var runtime = Runtime();
        var (sessionId, projectId) = NewIds();
        var name = SessionPodTemplate.PodName(sessionId);
        using var cancel = CancellationTokenSource.CreateLinkedTokenSource(Ct);

        var create = runtime.CreateAsync(sessionId, projectId, TestLaunch.For(sessionId), cancel.Token);
        await Api.WaitForPodAsync(Namespace, name, Ct);
        await cancel.CancelAsync();

        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => create);
        Assert.Null(Api.Pod(Namespace, name));
    }

    [Fact(Timeout = 30_000)]
    public async Task CreateAsync_PodAlreadyExists_FailsAndLeavesThatPodAlone()
    {
        var runtime = Runtime();
        var (sessionId, projectId) = NewIds();
        var name = SessionPodTemplate.PodName(sessionId);
        Api.Put(Ready(runtime.PodFor(sessionId, projectId, TestLaunch.For(sessionId)), "10.4.0.9"));

        var error = await Assert.ThrowsAsync<InvalidOperationException>(() => runtime.CreateAsync(sessionId, projectId, TestLaunch.For(sessionId), Ct));

        Assert.Contains("already exists", error.Message, StringComparison.Ordinal);
        Assert.Empty(Api.RequestsTo("DELETE", $"/api/v1/namespaces/{Namespace}/pods/{name}"));
        Assert.NotNull(Api.Pod(Namespace, name));
    }

    [Fact(Timeout = 30_000)]
    public async Task CreateAsync_ApiServerForbids_FailsWithItsStatusAndMessage()
    {
        var runtime = Runtime();
        var (sessionId, projectId) = NewIds();
        Api.RefuseWith = HttpStatusCode.Forbidden;

        var error = await Assert.ThrowsAsync<InvalidOperationException>(() => runtime.CreateAsync(sessionId, projectId, TestLaunch.For(sessionId), Ct));

        Assert.StartsWith($"The Kubernetes API refused to create session pod {SessionPodTemplate.PodName(sessionId)}: 403 Forbidden.", error.Message, StringComparison.Ordinal);
        Assert.Contains("cannot POST", error.Message, StringComparison.Ordinal);
    }

    [Theory(Timeout = 30_000)]
    [InlineData("../../kube-system")]
    [InlineData("session-1")]
    [InlineData("0F8FAD5B-D9CB-469F-A165-70867728950E")]
    [InlineData("")]
    public async Task Runtime_SessionIdNotACanonicalUuid_IsRefusedBeforeAnyRequest(string sessionId)
    {
        var runtime = Runtime();

        await Assert.ThrowsAsync<ArgumentException>(() => runtime.CreateAsync(sessionId, "project", TestLaunch.For(sessionId), Ct));
        await Assert.ThrowsAsync<ArgumentException>(() => runtime.DeleteAsync(sessionId, Ct));
        await Assert.ThrowsAsync<ArgumentException>(() => runtime.IsAliveAsync(sessionId, Ct));
        Assert.Empty(Api.Requests);
    }

    [Fact(Timeout = 30_000)]
    public async Task DeleteAsync_RunningPod_SendsDeleteAndThePodIsGone()
    {
        var runtime = Runtime();
        var (sessionId, projectId) = NewIds();
        var name = SessionPodTemplate.PodName(sessionId);
        Api.Put(Ready(runtime.PodFor(sessionId, projectId, TestLaunch.For(sessionId)), "10.4.0.10"));

        await runtime.DeleteAsync(sessionId, Ct);

        Assert.Single(Api.RequestsTo("DELETE", $"/api/v1/namespaces/{Namespace}/pods/{name}"));
        Assert.Null(Api.Pod(Namespace, name));
        Assert.False(await runtime.IsAliveAsync(sessionId, Ct));
    }

    [Fact(Timeout = 30_000)]
    public async Task DeleteAsync_PodAlreadyGone_IsNotAnError()
    {
        var runtime = Runtime();
        var (sessionId, _) = NewIds();

        await runtime.DeleteAsync(sessionId, Ct);

        Assert.Single(Api.RequestsTo("DELETE", $"/api/v1/namespaces/{Namespace}/pods/{SessionPodTemplate.PodName(sessionId)}"));
    }

    [Theory(Timeout = 30_000)]
    [InlineData("ready", true)]
    [InlineData("missing", false)]
    [InlineData("pending", false)]
    [InlineData("failed", false)]
    [InlineData("succeeded", false)]
    [InlineData("terminating", false)]
    [InlineData("not-ready-for-seconds", true)]
    [InlineData("not-ready-for-minutes", false)]
    public async Task IsAliveAsync_PodInState_IsAliveOnlyWhileRunningAndReadyOrBrieflyNot(string state, bool alive)
    {
        var runtime = Runtime();
        var (sessionId, projectId) = NewIds();
        if (state != "missing") { Api.Put(InState(runtime.PodFor(sessionId, projectId, TestLaunch.For(sessionId)), state)); }

        Assert.Equal(alive, await runtime.IsAliveAsync(sessionId, Ct));
        Assert.Single(Api.RequestsTo("GET", $"/api/v1/namespaces/{Namespace}/pods/{SessionPodTemplate.PodName(sessionId)}"));
    }

    [Fact(Timeout = 30_000)]
    public async Task ListAsync_MixedPods_AdoptsLiveOnesDeletesDeadOnesAndLeavesStartsAndStrangersAlone()
    {
        var runtime = Runtime();
        var pods = new Dictionary<string, (string SessionId, string ProjectId)>();
        foreach (var state in new[] { "ready", "not-ready-for-seconds", "pending", "failed", "succeeded", "not-ready-for-minutes", "pending-for-minutes", "terminating" })
        {
            var ids = NewIds();
            pods[state] = ids;
            Api.Put(InState(runtime.PodFor(ids.SessionId, ids.ProjectId, TestLaunch.For(ids.SessionId)), state));
        }
        // Pods that are not this runtime's: no session label, a name that does not match it, another namespace.
        var stranger = runtime.PodFor(NewIds().SessionId, "p1", TestLaunch.For(NewIds().SessionId));
        stranger.Metadata.Labels.Remove(KubernetesNames.SessionIdLabel);
        Api.Put(InState(stranger, "failed"));
        var renamed = runtime.PodFor(NewIds().SessionId, "p2", TestLaunch.For(NewIds().SessionId));
        renamed.Metadata.Name = "not-a-session";
        Api.Put(InState(renamed, "failed"));
        var elsewhere = runtime.PodFor(NewIds().SessionId, "p3", TestLaunch.For(NewIds().SessionId));
        elsewhere.Metadata.NamespaceProperty = "default";
        Api.Put(InState(elsewhere, "failed"));

        var running = await runtime.ListAsync(Ct);

        Assert.Equal(
            new[] { pods["ready"], pods["not-ready-for-seconds"] }.Order(),
            running.Select(p => (p.SessionId, p.ProjectId)).Order());
        Assert.Equal(new Uri("http://10.4.0.1:3002/"), running.Single(p => p.SessionId == pods["ready"].SessionId).Endpoints.FilesUrl);
        var list = Assert.Single(Api.RequestsTo("GET", $"/api/v1/namespaces/{Namespace}/pods"));
        Assert.Contains($"labelSelector={Uri.EscapeDataString(KubernetesSessionRuntime.LabelSelector)}", list.Query, StringComparison.Ordinal);
        var deleted = Api.Requests.Where(r => r.Method == "DELETE").Select(r => r.Path).Order();
        string[] dead = ["failed", "succeeded", "not-ready-for-minutes", "pending-for-minutes"];
        Assert.Equal(
            dead.Select(s => $"/api/v1/namespaces/{Namespace}/pods/{SessionPodTemplate.PodName(pods[s].SessionId)}").Order(),
            deleted);
        Assert.NotNull(Api.Pod(Namespace, SessionPodTemplate.PodName(pods["pending"].SessionId)));
        Assert.NotNull(Api.Pod(Namespace, stranger.Metadata.Name));
        Assert.NotNull(Api.Pod(Namespace, "not-a-session"));
    }

    [Fact(Timeout = 30_000)]
    public async Task ListAsync_ApiServerForbids_FailsWithItsStatus()
    {
        var runtime = Runtime();
        Api.RefuseWith = HttpStatusCode.Forbidden;

        var error = await Assert.ThrowsAsync<InvalidOperationException>(() => runtime.ListAsync(Ct));

        Assert.StartsWith("The Kubernetes API refused to list session pods: 403 Forbidden.", error.Message, StringComparison.Ordinal);
    }

    [Fact(Timeout = 60_000)]
    public async Task Reconciler_ApiStartsWithKubernetesRuntime_AdoptsRecordedPodsDeletesOrphansAndReleasesRecordsWithoutPods()
    {
        await using var lease = await RedisDatabaseLease.RentAsync(servers);
        using var redis = await ConnectionMultiplexer.ConnectAsync(lease.ConnectionString);
        var runtime = Runtime();
        await using var syncJobs = new SyncJobs(redis);
        // The reconciler never starts a session, so it reads no project.
        var sessions = new SessionManager(redis, runtime, syncJobs, projects: null!, Options.Create(NewOptions()), TimeProvider.System, NullLogger<SessionManager>.Instance);
        var adopted = NewIds();
        var orphan = NewIds();
        var gone = NewIds();
        var local = NewIds();
        Api.Put(InState(runtime.PodFor(adopted.SessionId, adopted.ProjectId, TestLaunch.For(adopted.SessionId)), "ready"));
        Api.Put(InState(runtime.PodFor(orphan.SessionId, orphan.ProjectId, TestLaunch.For(orphan.SessionId)), "ready"));
        await RecordAsync(lease.Db, adopted, "kubernetes");
        await RecordAsync(lease.Db, gone, "kubernetes");
        // Another runtime's session is none of this runtime's business.
        await RecordAsync(lease.Db, local, "local");

        await new SessionReconciler(redis, runtime, sessions, NullLogger<SessionReconciler>.Instance).StartAsync(Ct);

        Assert.NotNull(Api.Pod(Namespace, SessionPodTemplate.PodName(adopted.SessionId)));
        Assert.True(await lease.Db.KeyExistsAsync(RedisKeys.Session(adopted.SessionId)));
        Assert.Equal(adopted.SessionId, (string?)await lease.Db.StringGetAsync(RedisKeys.ActiveSession(adopted.ProjectId)));
        Assert.Null(Api.Pod(Namespace, SessionPodTemplate.PodName(orphan.SessionId)));
        Assert.False(await lease.Db.KeyExistsAsync(RedisKeys.Session(gone.SessionId)));
        Assert.False(await lease.Db.KeyExistsAsync(RedisKeys.ActiveSession(gone.ProjectId)));
        Assert.True(await lease.Db.KeyExistsAsync(RedisKeys.Session(local.SessionId)));
        Assert.Empty(Api.RequestsTo("DELETE", $"/api/v1/namespaces/{Namespace}/pods/{SessionPodTemplate.PodName(local.SessionId)}"));
    }

    [Fact(Timeout = 30_000)]
    public async Task AddSessionServices_RuntimeKubernetes_UsesTheConfiguredApiServer()
    {
        using var host = SessionHost(new()
        {
            ["Sessions:Runtime"] = "kubernetes",
            ["Sessions:PodImage"] = Image,
            ["Sessions:Kubernetes:ApiServer"] = Api.Url.ToString(),
        });
        var (sessionId, _) = NewIds();

        var runtime = Assert.IsType<KubernetesSessionRuntime>(host.Services.GetRequiredService<ISessionRuntime>());

        Assert.False(await runtime.IsAliveAsync(sessionId, Ct));
        Assert.Single(Api.RequestsTo("GET", $"/api/v1/namespaces/{Namespace}/pods/{SessionPodTemplate.PodName(sessionId)}"));
    }

    [Fact]
    public void AddSessionServices_NoRuntimeConfigured_UsesTheLocalRuntime()
    {
        using var host = SessionHost([]);

        Assert.IsType<LocalSessionRuntime>(host.Services.GetRequiredService<ISessionRuntime>());
    }

    [Theory]
    [InlineData("Sessions:PodImage", "", "Sessions:PodImage is required")]
    [InlineData("Sessions:Kubernetes:ApiServer", "ftp://127.0.0.1:1", "Sessions:Kubernetes:ApiServer must be an absolute http(s) URL")]
    [InlineData("Sessions:Kubernetes:NotReadyGrace", "00:00:10", "Sessions:Kubernetes:NotReadyGrace must be at least")]
    [InlineData("Sessions:Kubernetes:Environment:BAD-NAME", "x", "invalid variable name 'BAD-NAME'")]
    public void AddSessionServices_KubernetesRuntimeMisconfigured_FailsNamingTheSetting(string key, string value, string message)
    {
        using var host = SessionHost(new()
        {
            ["Sessions:Runtime"] = "kubernetes",
            ["Sessions:PodImage"] = Image,
            ["Sessions:Kubernetes:ApiServer"] = Api.Url.ToString(),
            [key] = value,
        });

        var error = Assert.Throws<OptionsValidationException>(() => host.Services.GetRequiredService<ISessionRuntime>());

        Assert.Contains(message, error.Message, StringComparison.Ordinal);
        Assert.Empty(Api.Requests);
    }

    private static IHost SessionHost(Dictionary<string, string?> settings)
    {
        var builder = Host.CreateApplicationBuilder(new HostApplicationBuilderSettings { DisableDefaults = true });
        builder.Configuration.AddInMemoryCollection(new Dictionary<string, string?>(settings)
        {
            ["Sessions:PreviewTokenKey"] = Convert.ToBase64String(RandomNumberGenerator.GetBytes(32)),
        });
        builder.AddSessionServices();
        return builder.Build();
    }

    private KubernetesSessionRuntime Runtime(Action<SessionOptions>? configure = null)
    {
        var options = NewOptions();
        configure?.Invoke(options);
        return new KubernetesSessionRuntime(_client!, Options.Create(options), TimeProvider.System, NullLogger<KubernetesSessionRuntime>.Instance);
    }

    private static SessionOptions NewOptions() => new()
    {
        Runtime = "kubernetes",
        PodImage = Image,
        PublicPreviewUrl = "http://127.0.0.1:9/preview/{sessionId}/",
        Kubernetes = { ReadyTimeout = TimeSpan.FromSeconds(20), NotReadyGrace = TimeSpan.FromMinutes(2) },
    };

    private static (string SessionId, string ProjectId) NewIds() => (Guid.NewGuid().ToString("D"), "p" + Guid.NewGuid().ToString("N")[..19]);

    private int Reads(string name) => Api.RequestsTo("GET", $"/api/v1/namespaces/{Namespace}/pods/{name}").Count;

    private static async Task RecordAsync(IDatabase db, (string SessionId, string ProjectId) ids, string runtime)
    {
        var now = DateTimeOffset.UtcNow;
        var url = new Uri("http://10.4.0.1:3000/");
        var record = new SessionRecord(ids.SessionId, ids.ProjectId, "user-" + Guid.NewGuid().ToString("N"), SessionStatus.Ready, runtime, url, url, url, now, now);
        await db.HashSetAsync(RedisKeys.Session(ids.SessionId), record.ToHashEntries());
        await db.StringSetAsync(RedisKeys.ActiveSession(ids.ProjectId), ids.SessionId);
    }

    /// <summary>The pod as the cluster would report it in the named state.</summary>
    private static V1Pod InState(V1Pod pod, string state)
    {
        var now = DateTime.UtcNow;
        pod.Metadata.CreationTimestamp = now.AddMinutes(-30);
        switch (state)
        {
            case "ready":
                return Ready(pod, "10.4.0.1");
            case "pending":
                pod.Metadata.CreationTimestamp = now.AddSeconds(-5);
                pod.Status = new V1PodStatus { Phase = "Pending" };
                return pod;
            case "pending-for-minutes":
                pod.Status = new V1PodStatus { Phase = "Pending" };
                return pod;
            case "failed" or "succeeded":
                Ready(pod, "10.4.0.2");
                pod.Status.Phase = state == "failed" ? "Failed" : "Succeeded";
                pod.Status.Conditions.Single(c => c.Type == "Ready").Status = "False";
                return pod;
            case "terminating":
                Ready(pod, "10.4.0.3");
                pod.Metadata.DeletionTimestamp = now;
                return pod;
            case "not-ready-for-seconds" or "not-ready-for-minutes":
                Ready(pod, "10.4.0.4");
                var ready = pod.Status.Conditions.Single(c => c.Type == "Ready");
                ready.Status = "False";
                ready.LastTransitionTime = state == "not-ready-for-seconds" ? now.AddSeconds(-10) : now.AddMinutes(-10);
                return pod;
            default:
                throw new ArgumentOutOfRangeException(nameof(state), state, null);
        }
    }

    private static V1Pod Ready(V1Pod pod, string ip)
    {
        pod.Status ??= new V1PodStatus();
        pod.Status.Phase = "Running";
        pod.Status.PodIP = ip;
        pod.Status.Conditions =
        [
            new V1PodCondition { Type = "PodScheduled", Status = "True" },
            new V1PodCondition { Type = "Ready", Status = "True", LastTransitionTime = DateTime.UtcNow },
        ];
        pod.Status.ContainerStatuses = [ContainerStatus(new V1ContainerState { Running = new V1ContainerStateRunning { StartedAt = DateTime.UtcNow } }, ready: true)];
        return pod;
    }

    private static void Waiting(V1Pod pod, string reason, string message) =>
        pod.Status.ContainerStatuses = [ContainerStatus(new V1ContainerState { Waiting = new V1ContainerStateWaiting { Reason = reason, Message = message } }, ready: false)];

    private static V1ContainerStatus ContainerStatus(V1ContainerState state, bool ready) => new()
    {
        Name = KubernetesNames.SessionPodName,
        Image = Image,
        ImageID = "",
        Ready = ready,
        RestartCount = 0,
        State = state,
    };
}
