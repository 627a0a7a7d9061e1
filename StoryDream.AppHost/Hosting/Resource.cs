using System.Globalization;

namespace StoryDream.AppHost.Hosting;

/// <summary>How the app host knows a started resource is ready for its dependents.</summary>
internal enum Readiness
{
    /// <summary>The process prints <c>READY host:port</c> (the launchers under <c>eng/servers</c>).</summary>
    ReadyLine,

    /// <summary><c>GET /health</c> on the resource's endpoint answers 200.</summary>
    HttpHealth,
}

/// <summary>
/// One thing the app host runs: a process with one loopback endpoint, the resources it waits for, and the
/// environment it gives to resources that reference it (Aspire's <c>IResourceWithEnvironment</c> and
/// <c>IResourceWithConnectionString</c> folded into one type).
/// </summary>
internal abstract class Resource(string name, string kind, Readiness readiness)
{
    public string Name { get; } = name;

    /// <summary>What the dashboard shows as the resource's type.</summary>
    public string Kind { get; } = kind;

    public Readiness Readiness { get; } = readiness;

    /// <summary>Loopback port of the resource's endpoint; fixed when the model is built.</summary>
    public int Port { get; internal set; }

    public string Endpoint => string.Create(CultureInfo.InvariantCulture, $"127.0.0.1:{Port}");

    public List<Resource> WaitsFor { get; } = [];

    public List<Resource> References { get; } = [];

    /// <summary>Values are read when the resource starts, so run-only secrets are never made for <c>publish</c>.</summary>
    public Dictionary<string, Func<string>> Environment { get; } = new(StringComparer.Ordinal);

    /// <summary>Checks run before anything starts; each returns what is missing, or null.</summary>
    public List<Func<string?>> Prerequisites { get; } = [];

    public abstract string FileName { get; }

    public abstract IReadOnlyList<string> Arguments { get; }

    public abstract string WorkingDirectory { get; }

    /// <summary>What a resource referencing this one receives, in Aspire's formats.</summary>
    public abstract IEnumerable<KeyValuePair<string, string>> ReferenceEnvironment();
}

/// <summary>A server started through a launcher script under <c>eng/servers</c>.</summary>
internal abstract class LauncherResource(string name, string kind, string repositoryRoot, string script)
    : Resource(name, kind, Readiness.ReadyLine)
{
    public string Script { get; } = script;

    public override string FileName => "bash";

    public override IReadOnlyList<string> Arguments => [Script, Port.ToString(CultureInfo.InvariantCulture)];

    public override string WorkingDirectory => repositoryRoot;
}

internal sealed class RedisResource(string name, string repositoryRoot)
    : LauncherResource(name, "redis", repositoryRoot, "eng/servers/redis.sh")
{
    public override IEnumerable<KeyValuePair<string, string>> ReferenceEnvironment() =>
        [new($"ConnectionStrings__{Name}", Endpoint)];
}

/// <summary>A Google Cloud emulator; clients find it through <paramref name="hostVariable"/> (<c>host:port</c>).</summary>
internal sealed class EmulatorResource(string name, string kind, string repositoryRoot, string script, string hostVariable, string projectId)
    : LauncherResource(name, kind, repositoryRoot, script)
{
    public string HostVariable { get; } = hostVariable;

    public override IEnumerable<KeyValuePair<string, string>> ReferenceEnvironment() =>
        [new(HostVariable, Endpoint), new("GoogleCloud__ProjectId", projectId)];
}

/// <summary>One of our .NET services, started from its build output with <c>dotnet Name.dll</c>.</summary>
internal sealed class ProjectResource(string name, string assemblyPath)
    : Resource(name, "project", Readiness.HttpHealth)
{
    public string AssemblyPath { get; } = assemblyPath;

    public string Url => $"http://{Endpoint}";

    public override string FileName => "dotnet";

    public override IReadOnlyList<string> Arguments => [AssemblyPath];

    public override string WorkingDirectory => Path.GetDirectoryName(AssemblyPath)!;

    public override IEnumerable<KeyValuePair<string, string>> ReferenceEnvironment() =>
        [new($"services__{Name}__http__0", Url)];
}

/// <summary>Any program that prints <c>READY</c> when it is ready; arguments may contain <c>{port}</c>.</summary>
internal sealed class ExecutableResource(string name, string fileName, IReadOnlyList<string> arguments, string workingDirectory)
    : Resource(name, "executable", Readiness.ReadyLine)
{
    public override string FileName { get; } = fileName;

    public override IReadOnlyList<string> Arguments =>
        [.. arguments.Select(a => a.Replace("{port}", Port.ToString(CultureInfo.InvariantCulture), StringComparison.Ordinal))];

    public override string WorkingDirectory { get; } = workingDirectory;

    public override IEnumerable<KeyValuePair<string, string>> ReferenceEnvironment() =>
        [new($"services__{Name}__tcp__0", Endpoint)];
}
