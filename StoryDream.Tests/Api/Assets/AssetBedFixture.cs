using StoryDream.Tests.Api.Sessions;
using StoryDream.Tests.Infrastructure;

namespace StoryDream.Tests.Api.Assets;

/// <summary>
/// A session test bed whose uploads are limited to 1 MiB, so the limit is reached with small bodies, and other bodies to
/// 256 KiB, so an upload is shown to take more than they may.
/// </summary>
public sealed class AssetBedFixture(TestServers servers) : IAsyncLifetime
{
    public const long MaxBytes = 1024 * 1024;

    private SessionTestBed? _bed;

    public SessionTestBed Bed => _bed ?? throw new InvalidOperationException("Not initialized.");

    public async ValueTask InitializeAsync() => _bed = await SessionTestBed.StartAsync(servers, new Dictionary<string, string?>
    {
        ["Assets:MaxBytes"] = MaxBytes.ToString(System.Globalization.CultureInfo.InvariantCulture),
        ["Api:MaxRequestBodyBytes"] = (256 * 1024).ToString(System.Globalization.CultureInfo.InvariantCulture),
    });

    public async ValueTask DisposeAsync()
    {
        if (_bed is not null) { await _bed.DisposeAsync(); }
    }
}
