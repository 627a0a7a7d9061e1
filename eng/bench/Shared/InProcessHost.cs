using System.Net;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Mvc.Testing;
using Microsoft.Extensions.DependencyInjection;

namespace StoryDream.Bench;

/// <summary>A StoryDream service run in the benchmark's own process, as the app host would configure it.</summary>
internal static class InProcessHost
{
    /// <summary>
    /// What every in-process service of one benchmark run shares: Redis, the emulators, and a Google Cloud project and
    /// bucket of the run's own, so runs never see each other's data.
    /// </summary>
    public static Dictionary<string, string?> CloudSettings(string redis, string firestore, string storage) => new()
    {
        ["ConnectionStrings:redis"] = redis,
        ["GoogleCloud:ProjectId"] = "bench-" + Guid.NewGuid().ToString("N")[..12],
        ["GoogleCloud:FirestoreEmulatorHost"] = firestore,
        ["GoogleCloud:StorageEmulatorHost"] = storage,
        ["GoogleCloud:Storage:Bucket"] = "bench-" + Guid.NewGuid().ToString("N")[..12],
        ["Logging:LogLevel:Default"] = "Warning",
    };

    /// <summary>The service in the Production environment with <paramref name="settings"/> over its own configuration.</summary>
    public static WebApplicationFactory<TProgram> Create<TProgram>(IEnumerable<KeyValuePair<string, string?>> settings)
        where TProgram : class =>
        new WebApplicationFactory<TProgram>().WithWebHostBuilder(builder =>
        {
            builder.UseEnvironment("Production");
            foreach (var (key, value) in settings) { builder.UseSetting(key, value); }
        });

    /// <summary>Starts the service on real Kestrel (loopback, a free port), so callers measure real HTTP; its base address.</summary>
    public static Uri StartOnLoopback<TProgram>(WebApplicationFactory<TProgram> factory)
        where TProgram : class
    {
        factory.UseKestrel(kestrel => kestrel.Listen(IPAddress.Loopback, 0));
        factory.StartServer();
        var address = factory.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();
        return new Uri(address + "/");
    }
}
