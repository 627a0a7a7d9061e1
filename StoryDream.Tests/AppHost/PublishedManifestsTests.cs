using System.Diagnostics;
using k8s;
using k8s.Models;
using Aspire.Hosting;
using Aspire.Hosting.ApplicationModel;
using Aspire.Hosting.Testing;
using StoryDream.AppHost.Publishing;
using StoryDream.Kubernetes;
using StoryDream.Tests.Infrastructure;

namespace StoryDream.Tests.AppHost;

/// <summary>The committed <c>deploy/k8s</c>: it matches a fresh publish, builds with kustomize, and keeps its invariants.</summary>
public sealed class PublishedManifestsTests
{
    private static readonly string Committed = Path.Combine(RepositoryPaths.Root, "deploy", "k8s");
    private static readonly Lazy<IReadOnlyList<object>> BaseObjects = new(() => LoadFolder(Path.Combine(Committed, KubernetesPublisher.BaseFolder)));

    [Fact]
    public async Task Publish_FreshRun_MatchesCommittedFiles()
    {
        var output = Directory.CreateTempSubdirectory("storydream-publish-");
        try
        {
            var (exitCode, log) = await RunScript.RunAsync(["publish", "--output", output.FullName], TimeSpan.FromSeconds(120), TestContext.Current.CancellationToken);
            Assert.True(exitCode == 0, log);

            var fresh = Files(output.FullName);
            var committed = Files(Committed);
            Assert.Equal(fresh.Keys.Order(), committed.Keys.Order());
            foreach (var (path, content) in fresh)
            {
                Assert.True(content == committed[path], $"deploy/k8s/{path} differs from a fresh publish: run 'bash eng/run.sh publish --output deploy/k8s'.");
            }
        }
        finally
        {
            output.Delete(recursive: true);
        }
    }

    [Fact]
    public async Task Publish_ReferenceAddedToTheModel_ReachesTheManifestsUnchangedWriter()
    {
        var builder = await DistributedApplicationTestingBuilder.CreateAsync<Projects.StoryDream_AppHost>(
            ["--operation", "publish", "--step", "publish"], TestContext.Current.CancellationToken);
        var syncWorker = builder.CreateResourceBuilder(builder.Resources.OfType<ProjectResource>().Single(r => r.Name == "syncworker"));
        syncWorker.WithReference(builder.CreateResourceBuilder(builder.Resources.OfType<ProjectResource>().Single(r => r.Name == "gateway")));

        var services = await AppModelReader.ReadAsync(new DistributedApplicationModel(builder.Resources), builder.ExecutionContext, TestContext.Current.CancellationToken);
        var files = KubernetesPublisher.Render(services);

        var worker = KubernetesYaml.LoadAllFromString(files.Single(f => f.Path == "base/syncworker.yaml").Content).OfType<V1Deployment>().Single();
        var env = worker.Spec.Template.Spec.Containers[0].Env;
        Assert.Equal("http://gateway.storydream.svc.cluster.local", env.Single(e => e.Name == "services__gateway__http__0").Value);
        Assert.Equal("redis-connection-string", env.Single(e => e.Name == "ConnectionStrings__redis").ValueFrom.SecretKeyRef.Key);
    }

    [Theory]
    [InlineData("")]
    [InlineData("overlays/production")]
    public async Task Kustomize_CommittedFolders_Build(string folder)
    {
        var (exitCode, output) = await KustomizeAsync(Path.Combine(Committed, folder));
        Assert.True(exitCode == 0, output);
        Assert.NotEmpty(KubernetesYaml.LoadAllFromString(output));
    }

    [Fact]
    public async Task ProductionOverlay_Built_UsesRegistryImagesEverywhereAndTellsTheApiTheSamePodImage()
    {
        var (exitCode, output) = await KustomizeAsync(Path.Combine(Committed, KubernetesPublisher.ProductionOverlay));
        Assert.True(exitCode == 0, output);
        var objects = KubernetesYaml.LoadAllFromString(output);

        var images = objects.SelectMany(Containers).Select(c => c.Image).ToList();
        Assert.NotEmpty(images);
        Assert.All(images, image => Assert.StartsWith("registry.example.com/", image, StringComparison.Ordinal));
        var podImage = Assert.Single(objects.OfType<V1PodTemplate>()).Template.Spec.Containers[0].Image;
        Assert.Equal(podImage, Assert.Single(objects.OfType<V1ConfigMap>()).Data["Sessions__PodImage"]);
        Assert.All(objects.OfType<V1Ingress>().SelectMany(i => i.Spec.Rules), rule => Assert.EndsWith("storydream.example.com", rule.Host, StringComparison.Ordinal));

        // Preview links the API hands out land on the wildcard host the ingress serves and the gateway routes on.
        var config = Assert.Single(objects.OfType<V1ConfigMap>()).Data;
        Assert.Equal("https://{sessionId}.preview.storydream.example.com/", config["Sessions__PublicPreviewUrl"]);
        Assert.Equal("preview.storydream.example.com", config["Gateway__PreviewDomain"]);
        Assert.Contains(objects.OfType<V1Ingress>().SelectMany(i => i.Spec.Rules), rule => rule.Host == $"*.{config["Gateway__PreviewDomain"]}");
    }

    [Fact]
    public void Images_Everywhere_ArePinnedToATag()
    {
        var images = BaseObjects.Value.SelectMany(Containers).Select(c => c.Image).ToList();
        Assert.Equal(4, images.Distinct().Count());
        foreach (var image in images)
        {
            var tag = image[(image.LastIndexOf(':') + 1)..];
            Assert.True(image.Contains(':', StringComparison.Ordinal) && tag != "latest" && !tag.Contains('/', StringComparison.Ordinal), $"{image} is not pinned to a version tag.");
        }
    }

    [Fact]
    public void Deployments_Every_HaveProbesResourcesAndLockedDownSecurity()
    {
        var deployments = BaseObjects.Value.OfType<V1Deployment>().ToList();
        Assert.Equal(["api", "gateway", "syncworker"], deployments.Select(d => d.Metadata.Name).Order());
        foreach (var deployment in deployments)
        {
            var pod = deployment.Spec.Template.Spec;
            Assert.True(pod.SecurityContext.RunAsNonRoot);
            Assert.Equal("RuntimeDefault", pod.SecurityContext.SeccompProfile.Type);
            var container = Assert.Single(pod.Containers);
            Assert.Equal("/health", container.ReadinessProbe.HttpGet.Path);
            Assert.Equal("/alive", container.LivenessProbe.HttpGet.Path);
            Assert.Equal("/alive", container.StartupProbe.HttpGet.Path);
            AssertLockedDown(container);
            Assert.Null(deployment.Spec.Replicas);
            Assert.Equal(deployment.Metadata.Name == "api", pod.AutomountServiceAccountToken);
        }
    }

    [Fact]
    public void Deployments_Every_HaveAnAutoscalerAndADisruptionBudget()
    {
        foreach (var deployment in BaseObjects.Value.OfType<V1Deployment>())
        {
            var hpa = Assert.Single(BaseObjects.Value.OfType<V2HorizontalPodAutoscaler>(), h => h.Spec.ScaleTargetRef.Name == deployment.Metadata.Name);
            Assert.Equal("Deployment", hpa.Spec.ScaleTargetRef.Kind);
            Assert.True(hpa.Spec.MinReplicas >= 2 && hpa.Spec.MaxReplicas > hpa.Spec.MinReplicas);
            var pdb = Assert.Single(BaseObjects.Value.OfType<V1PodDisruptionBudget>(), p => p.Metadata.Name == deployment.Metadata.Name);
            Assert.Equal(deployment.Spec.Selector.MatchLabels, pdb.Spec.Selector.MatchLabels);
        }
    }

    [Fact]
    public void Rbac_OnlyTheApiServiceAccount_ManagesPodsInTheSessionsNamespace()
    {
        var objects = BaseObjects.Value;
        Assert.DoesNotContain(objects, o => o is V1ClusterRole or V1ClusterRoleBinding);

        var role = Assert.Single(objects.OfType<V1Role>());
        Assert.Equal(KubernetesNames.SessionsNamespace, role.Metadata.NamespaceProperty);
        var rule = Assert.Single(role.Rules);
        Assert.Equal([""], rule.ApiGroups);
        Assert.Equal(["pods"], rule.Resources);
        Assert.Equal(["create", "delete", "get", "list", "watch"], rule.Verbs.Order());
        Assert.Null(rule.ResourceNames);

        var binding = Assert.Single(objects.OfType<V1RoleBinding>());
        Assert.Equal(KubernetesNames.SessionsNamespace, binding.Metadata.NamespaceProperty);
        Assert.Equal(role.Metadata.Name, binding.RoleRef.Name);
        var subject = Assert.Single(binding.Subjects);
        Assert.Equal(("ServiceAccount", "api", KubernetesNames.ServicesNamespace), (subject.Kind, subject.Name, subject.NamespaceProperty));
    }

    [Fact]
    public void NetworkPolicies_SessionPods_EachPortFromItsOneServiceAndEgressOnlyToDnsAndTheModelProxy()
    {
        var policies = BaseObjects.Value.OfType<V1NetworkPolicy>().Where(p => p.Metadata.NamespaceProperty == KubernetesNames.SessionsNamespace).ToList();
        var deny = Assert.Single(policies, p => p.Spec.PodSelector.MatchLabels is null && p.Spec.PodSelector.MatchExpressions is null);
        Assert.Equal(["Egress", "Ingress"], deny.Spec.PolicyTypes.Order());
        Assert.Null(deny.Spec.Ingress);
        Assert.Null(deny.Spec.Egress);

        var ingress = policies.SelectMany(p => p.Spec.Ingress ?? [])
            .Select(r => (Service: Assert.Single(r.FromProperty).PodSelector.MatchLabels["app.kubernetes.io/name"], Port: Assert.Single(r.Ports).Port.Value))
            .Order().ToList();
        Assert.Equal([("api", "3001"), ("api", "3003"), ("gateway", "3000"), ("syncworker", "3002")], ingress);

        var egress = policies.SelectMany(p => p.Spec.Egress ?? []).ToList();
        Assert.DoesNotContain(egress, r => r.To.Any(t => t.IpBlock is not null));
        Assert.Equal(2, egress.Count);
        var dns = Assert.Single(egress, r => r.To.Single().NamespaceSelector.MatchLabels["kubernetes.io/metadata.name"] == "kube-system");
        Assert.Equal(["53", "53"], dns.Ports.Select(p => p.Port.Value));
        var proxy = Assert.Single(egress, r => r != dns);
        Assert.Equal("gateway", proxy.To.Single().PodSelector.MatchLabels["app.kubernetes.io/name"]);
        Assert.Equal(SessionIsolation.ModelProxyPort.ToString(System.Globalization.CultureInfo.InvariantCulture), Assert.Single(proxy.Ports).Port.Value);

        // The gateway's model proxy port admits session pods and nothing else; the Ingress reaches only its http port.
        var models = Assert.Single(BaseObjects.Value.OfType<V1NetworkPolicy>(), p => p.Metadata.Name == "gateway-models-from-session-pods");
        var rule = Assert.Single(models.Spec.Ingress);
        Assert.Equal(KubernetesNames.SessionsNamespace, Assert.Single(rule.FromProperty).NamespaceSelector.MatchLabels["kubernetes.io/metadata.name"]);
        var service = Assert.Single(BaseObjects.Value.OfType<V1Service>(), s => s.Metadata.Name == SessionIsolation.ModelProxyServiceName);
        Assert.Equal(SessionIsolation.ModelProxyPort, Assert.Single(service.Spec.Ports).Port);
        Assert.DoesNotContain(BaseObjects.Value.OfType<V1Ingress>().Single().Spec.Rules, r => r.Http.Paths.Any(p => p.Backend.Service.Name == SessionIsolation.ModelProxyServiceName));
    }

    [Fact]
    public void SessionsNamespace_QuotaLimitRangeAndSandboxedPlacement()
    {
        var quota = Assert.Single(BaseObjects.Value.OfType<V1ResourceQuota>());
        Assert.Equal(KubernetesNames.SessionsNamespace, quota.Metadata.NamespaceProperty);
        Assert.Equal("200", quota.Spec.Hard["pods"].ToString());
        var limits = Assert.Single(Assert.Single(BaseObjects.Value.OfType<V1LimitRange>()).Spec.Limits);
        Assert.Equal("3Gi", limits.Max["memory"].ToString());
        var render = SessionPodTemplate.ForRender("image", Guid.NewGuid().ToString("D"), "p1").Spec.Containers.Single().Resources;
        Assert.All(render.Limits, limit => Assert.True(limit.Value.ToDecimal() <= limits.Max[limit.Key].ToDecimal(), $"the render pod's {limit.Key} limit is over the LimitRange"));

        var pod = Assert.Single(BaseObjects.Value.OfType<V1PodTemplate>()).Template.Spec;
        Assert.Equal("gvisor", pod.RuntimeClassName);
        Assert.Equal("sessions", pod.NodeSelector[SessionPlacement.NodePoolLabel]);
        var toleration = Assert.Single(pod.Tolerations);
        Assert.Equal((SessionPlacement.NodePoolLabel, "sessions", "NoSchedule"), (toleration.Key, toleration.Value, toleration.Effect));

        var gateway = Assert.Single(BaseObjects.Value.OfType<V1Deployment>(), d => d.Metadata.Name == "gateway").Spec.Template.Spec.Containers.Single();
        Assert.Contains(gateway.Env, e => e.Name == "ModelProxy__ApiKey" && e.ValueFrom?.SecretKeyRef?.Key == "anthropic-api-key");
        Assert.DoesNotContain(BaseObjects.Value.OfType<V1Deployment>().Where(d => d.Metadata.Name != "gateway").SelectMany(d => d.Spec.Template.Spec.Containers.Single().Env),
            e => e.Name.Contains("ApiKey", StringComparison.Ordinal) || e.ValueFrom?.SecretKeyRef?.Key == "anthropic-api-key");
    }

    [Fact]
    public void NetworkPolicies_ServicesNamespace_DenyIngressByDefault()
    {
        var policies = BaseObjects.Value.OfType<V1NetworkPolicy>().Where(p => p.Metadata.NamespaceProperty == KubernetesNames.ServicesNamespace).ToList();
        Assert.Contains(policies, p => p.Spec.PodSelector.MatchLabels is null && p.Spec.PolicyTypes.Contains("Ingress") && p.Spec.Ingress is null);
        Assert.DoesNotContain(policies, p => p.Spec.Ingress?.Any(r => r.FromProperty is null || r.FromProperty.Count == 0) == true);
    }

    [Fact]
    public void SessionPodTemplate_Published_HasTheDesignedLimitsAndNoToken()
    {
        var template = Assert.Single(BaseObjects.Value.OfType<V1PodTemplate>());
        Assert.Equal(KubernetesNames.SessionsNamespace, template.Metadata.NamespaceProperty);
        var pod = template.Template.Spec;
        Assert.False(pod.AutomountServiceAccountToken);
        Assert.True(pod.SecurityContext.RunAsNonRoot);
        Assert.Equal("RuntimeDefault", pod.SecurityContext.SeccompProfile.Type);
        var container = Assert.Single(pod.Containers);
        Assert.Equal("512Mi", container.Resources.Requests["memory"].ToString());
        Assert.Equal("250m", container.Resources.Requests["cpu"].ToString());
        Assert.Equal("2Gi", container.Resources.Limits["memory"].ToString());
        Assert.Equal("1", container.Resources.Limits["cpu"].ToString());
        AssertLockedDown(container);
        Assert.DoesNotContain(container.Env, e => e.ValueFrom?.SecretKeyRef is not null || e.Name.StartsWith("ANTHROPIC_", StringComparison.Ordinal));
        // The pod listens on every interface only when told to (its default is loopback).
        Assert.Contains(container.Env, e => e is { Name: "BIND_HOST", Value: "0.0.0.0" });
    }

    [Fact]
    public void Ingress_PreviewWildcard_KeepsWebSocketsOpen()
    {
        var ingress = Assert.Single(BaseObjects.Value.OfType<V1Ingress>());
        Assert.Contains(ingress.Spec.Rules, r => r.Host == "*.preview.storydream.example");
        Assert.Contains(ingress.Spec.Rules, r => r.Host == "api.storydream.example");
        Assert.All(ingress.Spec.Rules, r => Assert.Equal("gateway", r.Http.Paths[0].Backend.Service.Name));
        Assert.True(int.Parse(ingress.Metadata.Annotations["nginx.ingress.kubernetes.io/proxy-read-timeout"], System.Globalization.CultureInfo.InvariantCulture) >= 3600);
        Assert.True(int.Parse(ingress.Metadata.Annotations["nginx.ingress.kubernetes.io/proxy-send-timeout"], System.Globalization.CultureInfo.InvariantCulture) >= 3600);
    }

    [Fact]
    public void Deployments_GatewayAndApi_BelieveForwardedHeadersOnlyFromTheirProxysNetwork()
    {
        string? KnownProxies(string service) => BaseObjects.Value.OfType<V1Deployment>().Single(d => d.Metadata.Name == service)
            .Spec.Template.Spec.Containers[0].Env.SingleOrDefault(e => e.Name == "ForwardedHeaders__KnownProxies")?.Value;

        Assert.Equal(PublishSettings.Base.IngressNetwork, KnownProxies("gateway"));
        Assert.Equal(PublishSettings.Base.GatewayNetwork, KnownProxies("api"));
        Assert.Null(KnownProxies("syncworker"));
        Assert.True(System.Net.IPNetwork.TryParse(PublishSettings.Base.IngressNetwork, out _));
        Assert.True(System.Net.IPNetwork.TryParse(PublishSettings.Base.GatewayNetwork, out _));
    }

    [Fact]
    public void Secrets_AreOnlyReferenced_NeverShipped()
    {
        Assert.DoesNotContain(BaseObjects.Value, o => o is V1Secret);
        var gatewayEnv = BaseObjects.Value.OfType<V1Deployment>().Single(d => d.Metadata.Name == "gateway").Spec.Template.Spec.Containers[0].Env;
        Assert.Equal("storydream-secrets", gatewayEnv.Single(e => e.Name == "Sessions__PreviewTokenKey").ValueFrom.SecretKeyRef.Name);
        Assert.Equal("http://api.storydream.svc.cluster.local", gatewayEnv.Single(e => e.Name == "services__api__http__0").Value);
        Assert.DoesNotContain(gatewayEnv, e => e.Name.Contains("EMULATOR", StringComparison.Ordinal));
    }

    [Theory]
    [InlineData("../etc")]
    [InlineData("a/b")]
    [InlineData("-leading-dash")]
    public void SessionPodTemplate_ForSessionWithUnsafeId_Throws(string sessionId)
    {
        Assert.Throws<ArgumentException>(() => SessionPodTemplate.ForSession("storydream/session-pod:0.1.0", sessionId, "project-1"));
    }

    [Fact]
    public void SessionPodTemplate_ForSession_LabelsAndNamesThePod()
    {
        var sessionId = Guid.NewGuid().ToString();
        var projectId = Guid.NewGuid().ToString();
        var pod = SessionPodTemplate.ForSession("storydream/session-pod:0.1.0", sessionId, projectId);
        Assert.Equal($"session-{sessionId}", pod.Metadata.Name);
        Assert.Equal(KubernetesNames.SessionsNamespace, pod.Metadata.NamespaceProperty);
        Assert.Equal(sessionId, pod.Metadata.Labels[KubernetesNames.SessionIdLabel]);
        Assert.Equal(projectId, pod.Metadata.Labels[KubernetesNames.ProjectIdLabel]);
        Assert.Equal(KubernetesNames.SessionPodName, pod.Metadata.Labels[KubernetesNames.NameLabel]);
    }

    private static void AssertLockedDown(V1Container container)
    {
        Assert.NotNull(container.Resources.Requests);
        Assert.NotNull(container.Resources.Limits);
        Assert.True(container.Resources.Requests.ContainsKey("cpu") && container.Resources.Requests.ContainsKey("memory"), $"{container.Name} has no cpu/memory requests.");
        Assert.True(container.Resources.Limits.ContainsKey("cpu") && container.Resources.Limits.ContainsKey("memory"), $"{container.Name} has no cpu/memory limits.");
        Assert.False(container.SecurityContext.AllowPrivilegeEscalation);
        Assert.True(container.SecurityContext.ReadOnlyRootFilesystem);
        Assert.Equal(["ALL"], container.SecurityContext.Capabilities.Drop);
        Assert.Null(container.SecurityContext.Capabilities.Add);
        Assert.NotEqual(true, container.SecurityContext.Privileged);
    }

    private static IEnumerable<V1Container> Containers(object manifest) => manifest switch
    {
        V1Deployment d => d.Spec.Template.Spec.Containers,
        V1PodTemplate t => t.Template.Spec.Containers,
        V1Pod p => p.Spec.Containers,
        _ => [],
    };

    private static Dictionary<string, string> Files(string root) =>
        Directory.EnumerateFiles(root, "*", SearchOption.AllDirectories)
            .ToDictionary(f => Path.GetRelativePath(root, f).Replace('\\', '/'), File.ReadAllText);

    private static List<object> LoadFolder(string folder) =>
        [.. Directory.EnumerateFiles(folder, "*.yaml").Where(f => Path.GetFileName(f) != "kustomization.yaml")
            .SelectMany(f => KubernetesYaml.LoadAllFromString(File.ReadAllText(f)))];

    private static async Task<(int ExitCode, string Output)> KustomizeAsync(string folder)
    {
        using var process = Process.Start(new ProcessStartInfo("kubectl", ["kustomize", folder])
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        }) ?? throw new InvalidOperationException("kubectl is not installed; it checks the manifests offline.");
        var stdout = process.StandardOutput.ReadToEndAsync(TestContext.Current.CancellationToken);
        var stderr = process.StandardError.ReadToEndAsync(TestContext.Current.CancellationToken);
        await process.WaitForExitAsync(TestContext.Current.CancellationToken).WaitAsync(TimeSpan.FromSeconds(60), TestContext.Current.CancellationToken);
        return (process.ExitCode, process.ExitCode == 0 ? await stdout : await stderr);
    }
}
