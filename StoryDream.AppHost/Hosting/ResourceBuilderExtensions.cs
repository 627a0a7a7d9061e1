using System.Diagnostics;
using StoryDream.AppHost.DevAuth;

namespace StoryDream.AppHost.Hosting;

/// <summary>The app model's vocabulary, named as in Aspire so a later move to it is mostly a change of usings.</summary>
internal static class ResourceBuilderExtensions
{
    /// <summary>The project id the emulators serve; any id works against them.</summary>
    public const string DevProjectId = "storydream-dev";

    public static IResourceBuilder<RedisResource> AddRedis(this DistributedApplicationBuilder builder, string name)
    {
        ArgumentNullException.ThrowIfNull(builder);
        var resource = new RedisResource(name, builder.Options.RepositoryRoot);
        resource.Prerequisites.Add(() => CommandOnPath("redis-server") ? null
            : "redis-server is not installed (Debian package 'redis-server').");
        return builder.AddResource(resource);
    }

    public static IResourceBuilder<EmulatorResource> AddFirestoreEmulator(this DistributedApplicationBuilder builder, string name)
    {
        ArgumentNullException.ThrowIfNull(builder);
        var root = builder.Options.RepositoryRoot;
        var resource = new EmulatorResource(name, "firestore-emulator", root, "eng/servers/firestore.sh", "FIRESTORE_EMULATOR_HOST", DevProjectId);
        // The lookup script already says precisely what is missing (SDK, emulator component or Java).
        resource.Prerequisites.Add(() => RunCheck(root, "bash", "eng/servers/find-firestore-emulator.sh"));
        return builder.AddResource(resource);
    }

    public static IResourceBuilder<EmulatorResource> AddStorageEmulator(this DistributedApplicationBuilder builder, string name)
    {
        ArgumentNullException.ThrowIfNull(builder);
        var root = builder.Options.RepositoryRoot;
        var resource = new EmulatorResource(name, "storage-emulator", root, "eng/servers/storage.sh", "STORAGE_EMULATOR_HOST", DevProjectId);
        resource.Prerequisites.Add(() => CommandOnPath("node") ? null : "node is not installed (the Storage emulator needs Node.js 20 or later).");
        resource.Prerequisites.Add(() => File.Exists(Path.Combine(root, "eng/storage-emulator/node_modules/firebase-tools/package.json")) ? null
            : "The Storage emulator's npm packages are not installed (eng/storage-emulator/node_modules: 'npm ci' there).");
        return builder.AddResource(resource);
    }

    /// <summary>A service of this repository, run from its build output (built together with the app host).</summary>
    public static IResourceBuilder<ProjectResource> AddProject(this DistributedApplicationBuilder builder, string name, string projectName)
    {
        ArgumentNullException.ThrowIfNull(builder);
        var options = builder.Options;
        var assembly = Path.Combine(options.RepositoryRoot, projectName, "bin", options.Configuration, options.TargetFramework, projectName + ".dll");
        var resource = new ProjectResource(name, assembly);
        resource.Prerequisites.Add(() => File.Exists(assembly) ? null
            : $"{projectName} is not built ({assembly} is missing): run 'dotnet build StoryDream.AppHost -c {options.Configuration}'.");
        resource.Environment["ASPNETCORE_URLS"] = () => resource.Url;
        resource.Environment["ASPNETCORE_ENVIRONMENT"] = () => "Development";
        return builder.AddResource(resource);
    }

    public static IResourceBuilder<ExecutableResource> AddExecutable(this DistributedApplicationBuilder builder, string name, string fileName, string workingDirectory, params string[] arguments)
    {
        ArgumentNullException.ThrowIfNull(builder);
        return builder.AddResource(new ExecutableResource(name, fileName, arguments, workingDirectory));
    }

    /// <summary>Injects what <paramref name="source"/> exports (connection string, emulator host, service address).</summary>
    public static IResourceBuilder<T> WithReference<T>(this IResourceBuilder<T> builder, IResourceBuilder<Resource> source) where T : Resource
    {
        ArgumentNullException.ThrowIfNull(builder);
        ArgumentNullException.ThrowIfNull(source);
        builder.Resource.References.Add(source.Resource);
        return builder;
    }

    /// <summary>Starts this resource only once <paramref name="dependency"/> is healthy.</summary>
    public static IResourceBuilder<T> WaitFor<T>(this IResourceBuilder<T> builder, IResourceBuilder<Resource> dependency) where T : Resource
    {
        ArgumentNullException.ThrowIfNull(builder);
        ArgumentNullException.ThrowIfNull(dependency);
        builder.Resource.WaitsFor.Add(dependency.Resource);
        return builder;
    }

    public static IResourceBuilder<T> WithEnvironment<T>(this IResourceBuilder<T> builder, string name, Func<string> value) where T : Resource
    {
        ArgumentNullException.ThrowIfNull(builder);
        ArgumentException.ThrowIfNullOrWhiteSpace(name);
        ArgumentNullException.ThrowIfNull(value);
        builder.Resource.Environment[name] = value;
        return builder;
    }

    public static IResourceBuilder<T> WithEnvironment<T>(this IResourceBuilder<T> builder, string name, string value) where T : Resource =>
        builder.WithEnvironment(name, () => value);

    /// <summary>Pins the resource's endpoint to <paramref name="port"/> instead of a free one.</summary>
    public static IResourceBuilder<T> WithHttpEndpoint<T>(this IResourceBuilder<T> builder, int port) where T : Resource
    {
        ArgumentNullException.ThrowIfNull(builder);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(port);
        builder.Resource.Port = port;
        return builder;
    }

    /// <summary>Dev signing keys kept in <c>.dev/</c> at the repository root; the app host prints a token for them.</summary>
    public static DevCredentialsSource AddDevAuth(this DistributedApplicationBuilder builder)
    {
        ArgumentNullException.ThrowIfNull(builder);
        return builder.DevAuth ??= new DevCredentialsSource(builder.Options.DevDirectory ?? Path.Combine(builder.Options.RepositoryRoot, ".dev"));
    }

    /// <summary>The auth contract the API reads: issuer, audience and HMAC key of the dev tokens, and the preview token key.</summary>
    public static IResourceBuilder<T> WithDevAuth<T>(this IResourceBuilder<T> builder, DevCredentialsSource auth) where T : Resource
    {
        ArgumentNullException.ThrowIfNull(auth);
        return builder
            .WithEnvironment("Auth__Issuer", DevCredentials.Issuer)
            .WithEnvironment("Auth__Audience", DevCredentials.Audience)
            .WithEnvironment("Auth__SigningKey", () => auth.Value.SigningKey)
            // The studio's "Continue as dev user" asks the API for a token signed with that key.
            .WithEnvironment("Auth__DevSignIn", "true")
            .WithPreviewTokenKey(auth);
    }

    public static IResourceBuilder<T> WithPreviewTokenKey<T>(this IResourceBuilder<T> builder, DevCredentialsSource auth) where T : Resource
    {
        ArgumentNullException.ThrowIfNull(auth);
        return builder.WithEnvironment("Sessions__PreviewTokenKey", () => auth.Value.PreviewTokenKey);
    }

    internal static bool CommandOnPath(string command) =>
        (Environment.GetEnvironmentVariable("PATH") ?? "").Split(':', StringSplitOptions.RemoveEmptyEntries)
            .Any(dir => File.Exists(Path.Combine(dir, command)));

    private static string? RunCheck(string workingDirectory, string fileName, params string[] arguments)
    {
        var info = new ProcessStartInfo(fileName, arguments)
        {
            WorkingDirectory = workingDirectory,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        using var process = Process.Start(info)!;
        var error = process.StandardError.ReadToEndAsync();
        process.StandardOutput.ReadToEnd();
        process.WaitForExit();
        return process.ExitCode == 0 ? null : error.Result.Trim();
    }
}
