using System.Globalization;
using System.Reflection;

namespace StoryDream.AppHost.Hosting;

/// <summary>The app host's command line: <c>[run]</c> or <c>publish --output DIR</c>, plus port overrides.</summary>
internal sealed record AppHostOptions
{
    public const int DefaultGatewayPort = 5100;
    public const int DefaultDashboardPort = 18888;

    public bool Publish { get; init; }

    public string? PublishOutput { get; init; }

    public int GatewayPort { get; init; } = DefaultGatewayPort;

    public int DashboardPort { get; init; } = DefaultDashboardPort;

    /// <summary>Run <c>eng/setup.sh</c> when a prerequisite is missing (off: only say what is missing).</summary>
    public bool RunSetup { get; init; } = true;

    public bool ShowHelp { get; init; }

    public string RepositoryRoot { get; init; } = BuildMetadata("RepositoryRoot");

    /// <summary>Where the dev keys live: <c>.dev/</c> at the repository root unless STORYDREAM_DEV_DIRECTORY says otherwise.</summary>
    public string? DevDirectory { get; init; }

    /// <summary>Configuration and framework the services were built with, alongside the app host.</summary>
    public string Configuration { get; init; } = BuildMetadata("Configuration");

    public string TargetFramework { get; init; } = BuildMetadata("TargetFramework");

    public const string Usage = """
        Usage:
          dotnet run --project StoryDream.AppHost [-- OPTIONS]            run everything locally
          dotnet run --project StoryDream.AppHost -- publish --output DIR  write the Kubernetes manifests
        Options:
          --gateway-port N     the gateway's port (default 5100; env STORYDREAM_GATEWAY_PORT)
          --dashboard-port N   the dashboard's port (default 18888; env STORYDREAM_DASHBOARD_PORT)
          --no-setup           never run eng/setup.sh; only say what is missing
        """;

    /// <summary>Parses the command line; environment variables give defaults the arguments override.</summary>
    public static AppHostOptions Parse(IReadOnlyList<string> args, Func<string, string?> environment)
    {
        ArgumentNullException.ThrowIfNull(args);
        ArgumentNullException.ThrowIfNull(environment);

        var options = new AppHostOptions { DevDirectory = environment("STORYDREAM_DEV_DIRECTORY") is { Length: > 0 } dev ? dev : null };
        if (environment("STORYDREAM_GATEWAY_PORT") is { Length: > 0 } gatewayPort)
        {
            options = options with { GatewayPort = ParsePort("STORYDREAM_GATEWAY_PORT", gatewayPort) };
        }
        if (environment("STORYDREAM_DASHBOARD_PORT") is { Length: > 0 } dashboardPort)
        {
            options = options with { DashboardPort = ParsePort("STORYDREAM_DASHBOARD_PORT", dashboardPort) };
        }

        for (var i = 0; i < args.Count; i++)
        {
            var arg = args[i];
            options = arg switch
            {
                "publish" when i == 0 => options with { Publish = true },
                "run" when i == 0 => options,
                "--output" or "-o" => options with { PublishOutput = Value(args, ref i) },
                "--gateway-port" => options with { GatewayPort = ParsePort(arg, Value(args, ref i)) },
                "--dashboard-port" => options with { DashboardPort = ParsePort(arg, Value(args, ref i)) },
                "--no-setup" => options with { RunSetup = false },
                "--help" or "-h" => options with { ShowHelp = true },
                _ => throw new ArgumentException($"Unknown argument '{arg}'.\n{Usage}"),
            };
        }

        if (options.Publish && string.IsNullOrWhiteSpace(options.PublishOutput))
        {
            throw new ArgumentException($"publish needs --output DIR.\n{Usage}");
        }
        if (!options.Publish && options.PublishOutput is not null)
        {
            throw new ArgumentException($"--output only applies to publish.\n{Usage}");
        }
        if (options.GatewayPort == options.DashboardPort)
        {
            throw new ArgumentException($"The gateway and the dashboard cannot share port {options.GatewayPort}.");
        }
        return options;
    }

    private static string Value(IReadOnlyList<string> args, ref int i)
    {
        if (i + 1 >= args.Count || args[i + 1].StartsWith("--", StringComparison.Ordinal))
        {
            throw new ArgumentException($"{args[i]} needs a value.\n{Usage}");
        }
        return args[++i];
    }

    private static int ParsePort(string name, string value) =>
        int.TryParse(value, NumberStyles.None, CultureInfo.InvariantCulture, out var port) && port is > 0 and < 65536
            ? port
            : throw new ArgumentException($"{name} must be a port number from 1 to 65535, not '{value}'.");

    private static string BuildMetadata(string key) =>
        typeof(AppHostOptions).Assembly.GetCustomAttributes<AssemblyMetadataAttribute>().FirstOrDefault(a => a.Key == key)?.Value
        ?? throw new InvalidOperationException($"The app host was built without its '{key}' metadata.");
}
