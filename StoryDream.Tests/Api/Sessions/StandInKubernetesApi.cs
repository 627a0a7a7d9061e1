using System.Collections.Concurrent;
using System.Net;
using k8s;
using k8s.Models;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace StoryDream.Tests.Api.Sessions;

/// <summary>One request the stand-in received, as sent: the body is the raw JSON.</summary>
internal sealed record RecordedRequest(string Method, string Path, string Query, string? Body);

/// <summary>
/// A stand-in for the Kubernetes API server, because no real one can run here: a Kestrel app on a loopback port that
/// serves the pod endpoints the session runtime calls (create, read, delete, list by label selector) over pods kept in
/// memory, in the API server's JSON, and records every request. Tests move pods through their phases the way the
/// kubelet would. Anything else it is asked answers 501, so a call the runtime starts making shows up as a failure.
/// </summary>
internal sealed class StandInKubernetesApi : IAsyncDisposable
{
    private readonly WebApplication _app;
    private readonly Lock _gate = new();
    private readonly Dictionary<(string Namespace, string Name), V1Pod> _pods = [];
    private readonly ConcurrentQueue<RecordedRequest> _requests = new();

    private StandInKubernetesApi(WebApplication app) => _app = app;

    public Uri Url { get; private set; } = null!;

    public IReadOnlyList<RecordedRequest> Requests => [.. _requests];

    /// <summary>When set, every request is refused with this status, as an API server refuses a caller RBAC does not allow.</summary>
    public HttpStatusCode? RefuseWith { get; set; }

    public static async Task<StandInKubernetesApi> StartAsync()
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.WebHost.UseKestrel(kestrel => kestrel.Listen(IPAddress.Loopback, 0));
        builder.Logging.ClearProviders();
        var app = builder.Build();
        var api = new StandInKubernetesApi(app);
        app.Use(async (context, next) =>
        {
            context.Request.EnableBuffering();
            using var reader = new StreamReader(context.Request.Body, leaveOpen: true);
            var body = await reader.ReadToEndAsync(context.RequestAborted);
            context.Request.Body.Position = 0;
            api._requests.Enqueue(new RecordedRequest(context.Request.Method, context.Request.Path, context.Request.QueryString.Value ?? "", body.Length == 0 ? null : body));
            if (api.RefuseWith is { } refused)
            {
                await StatusResult(refused, refused.ToString(), $"pods is forbidden: User \"system:serviceaccount:storydream:api\" cannot {context.Request.Method} here")
                    .ExecuteAsync(context);
                return;
            }
            try
            {
                await next(context);
            }
            catch (Exception e) when (!context.Response.HasStarted)
            {
                // Shown in the client's error, so a fault of the stand-in is not mistaken for one of the runtime.
                context.Response.StatusCode = StatusCodes.Status500InternalServerError;
                await context.Response.WriteAsync("stand-in fault: " + e, context.RequestAborted);
            }
        });
        app.MapPost("/api/v1/namespaces/{ns}/pods", api.CreateAsync);
        app.MapGet("/api/v1/namespaces/{ns}/pods/{name}", api.Read);
        app.MapDelete("/api/v1/namespaces/{ns}/pods/{name}", api.Delete);
        app.MapGet("/api/v1/namespaces/{ns}/pods", api.List);
        app.MapFallback(() => Results.StatusCode(StatusCodes.Status501NotImplemented));
        await app.StartAsync();
        api.Url = new Uri(app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First());
        return api;
    }

    /// <summary>A client of this stand-in, configured the way the API configures its own.</summary>
    public IKubernetes Client() => new k8s.Kubernetes(new KubernetesClientConfiguration { Host = Url.ToString() });

    public V1Pod? Pod(string ns, string name)
    {
        lock (_gate) { return _pods.TryGetValue((ns, name), out var pod) ? Copy(pod) : null; }
    }

    /// <summary>Puts a pod in the store as it is, status included: one an earlier API process created, for example.</summary>
    public void Put(V1Pod pod)
    {
        ArgumentNullException.ThrowIfNull(pod);
        lock (_gate) { _pods[(pod.Metadata.NamespaceProperty, pod.Metadata.Name)] = Copy(pod); }
    }

    /// <summary>Changes a stored pod as the scheduler or the kubelet would.</summary>
    public void Update(string ns, string name, Action<V1Pod> change)
    {
        ArgumentNullException.ThrowIfNull(change);
        lock (_gate)
        {
            var pod = _pods[(ns, name)];
            pod.Status ??= new V1PodStatus();
            change(pod);
        }
    }

    public async Task WaitForPodAsync(string ns, string name, CancellationToken cancellationToken)
    {
        while (Pod(ns, name) is null) { await Task.Delay(10, cancellationToken); }
    }

    public IReadOnlyList<RecordedRequest> RequestsTo(string method, string path) =>
        [.. Requests.Where(r => r.Method == method && r.Path == path)];

    private async Task<IResult> CreateAsync(string ns, HttpRequest request)
    {
        using var reader = new StreamReader(request.Body);
        var pod = KubernetesJson.Deserialize<V1Pod>(await reader.ReadToEndAsync(request.HttpContext.RequestAborted));
        if (pod.Metadata?.Name is not { Length: > 0 } name)
        {
            return StatusResult(HttpStatusCode.UnprocessableEntity, "Invalid", "metadata.name: Required value");
        }
        if (pod.Metadata.NamespaceProperty is { } bodyNamespace && bodyNamespace != ns)
        {
            return StatusResult(HttpStatusCode.BadRequest, "BadRequest", "the namespace of the provided object does not match the namespace sent on the request");
        }
        lock (_gate)
        {
            if (_pods.ContainsKey((ns, name)))
            {
                return StatusResult(HttpStatusCode.Conflict, "AlreadyExists", $"pods \"{name}\" already exists");
            }
            pod.Metadata.NamespaceProperty = ns;
            pod.Metadata.Uid = Guid.NewGuid().ToString("D");
            pod.Metadata.CreationTimestamp = DateTime.UtcNow;
            pod.Status = new V1PodStatus { Phase = "Pending" };
            _pods[(ns, name)] = pod;
            return Json(HttpStatusCode.Created, pod);
        }
    }

    private IResult Read(string ns, string name)
    {
        lock (_gate)
        {
            return _pods.TryGetValue((ns, name), out var pod) ? Json(HttpStatusCode.OK, pod) : NotFound(name);
        }
    }

    private IResult Delete(string ns, string name)
    {
        lock (_gate)
        {
            if (!_pods.Remove((ns, name), out var pod)) { return NotFound(name); }
            // A real API server answers with the pod as it is while it terminates; this one forgets it at once.
            pod.Metadata.DeletionTimestamp = DateTime.UtcNow;
            return Json(HttpStatusCode.OK, pod);
        }
    }

    private IResult List(string ns, string? labelSelector, bool? watch)
    {
        if (watch == true) { return Results.StatusCode(StatusCodes.Status501NotImplemented); }
        var terms = (labelSelector ?? "").Split(',', StringSplitOptions.RemoveEmptyEntries);
        if (terms.Any(t => t.Contains("!=", StringComparison.Ordinal) || t.Contains(" in ", StringComparison.Ordinal) || t.StartsWith('!')))
        {
            return StatusResult(HttpStatusCode.BadRequest, "BadRequest", $"the stand-in supports only 'key=value' and 'key' selectors, got '{labelSelector}'");
        }
        lock (_gate)
        {
            var items = _pods.Where(p => p.Key.Namespace == ns && terms.All(t => Matches(p.Value, t))).Select(p => p.Value).ToList();
            return Json(HttpStatusCode.OK, new V1PodList { ApiVersion = "v1", Kind = "PodList", Metadata = new V1ListMeta(), Items = items });
        }
    }

    private static bool Matches(V1Pod pod, string term)
    {
        var labels = pod.Metadata.Labels ?? new Dictionary<string, string>();
        var split = term.Split('=', 2);
        return split.Length == 1
            ? labels.ContainsKey(term)
            : labels.TryGetValue(split[0], out var value) && value == split[1];
    }

    private static IResult NotFound(string name) => StatusResult(HttpStatusCode.NotFound, "NotFound", $"pods \"{name}\" not found");

    // The client library cannot write a V1Status (its converter only reads), so the Status object is written by hand.
    private static IResult StatusResult(HttpStatusCode code, string reason, string message) =>
        Results.Json(new { kind = "Status", apiVersion = "v1", status = "Failure", message, reason, code = (int)code }, statusCode: (int)code);

    private static IResult Json(HttpStatusCode code, object value) =>
        Results.Text(KubernetesJson.Serialize(value), "application/json", statusCode: (int)code);

    private static V1Pod Copy(V1Pod pod) => KubernetesJson.Deserialize<V1Pod>(KubernetesJson.Serialize(pod));

    public async ValueTask DisposeAsync()
    {
        await _app.StopAsync();
        await _app.DisposeAsync();
    }
}
