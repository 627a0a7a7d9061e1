using System.Net;
using System.Net.Sockets;
using Microsoft.Extensions.Options;

namespace StoryDream.Api.Webhooks;

/// <summary>A destination that must not be called: why, in words a client can act on.</summary>
internal sealed class WebhookDestinationRefusedException(string message) : Exception(message);

/// <summary>
/// Where webhooks may go. An address is checked twice: when the URL is registered (so a client hears at once), and again
/// at connect time on the very address the socket connects to, so a name that resolves differently later (DNS
/// rebinding) cannot reach an internal address.
/// </summary>
internal sealed class WebhookDestinations(IOptions<WebhookOptions> options)
{
    private static readonly (IPAddress Network, int Prefix, string Kind)[] Refused =
    [
        (IPAddress.Parse("0.0.0.0"), 8, "an unspecified address"),
        (IPAddress.Parse("10.0.0.0"), 8, "a private address"),
        (IPAddress.Parse("100.64.0.0"), 10, "a shared (carrier-grade NAT) address"),
        (IPAddress.Parse("127.0.0.0"), 8, "a loopback address"),
        (IPAddress.Parse("169.254.0.0"), 16, "a link-local address (cloud metadata lives there)"),
        (IPAddress.Parse("172.16.0.0"), 12, "a private address"),
        (IPAddress.Parse("192.0.0.0"), 24, "a reserved address"),
        (IPAddress.Parse("192.168.0.0"), 16, "a private address"),
        (IPAddress.Parse("198.18.0.0"), 15, "a benchmarking address"),
        (IPAddress.Parse("224.0.0.0"), 4, "a multicast address"),
        (IPAddress.Parse("240.0.0.0"), 4, "a reserved address"),
        (IPAddress.Parse("::"), 128, "an unspecified address"),
        (IPAddress.Parse("::1"), 128, "a loopback address"),
        (IPAddress.Parse("fc00::"), 7, "a private (unique local) address, which includes fd00:ec2::254, a cloud metadata address"),
        (IPAddress.Parse("fe80::"), 10, "a link-local address"),
        (IPAddress.Parse("ff00::"), 8, "a multicast address"),
    ];

    private readonly WebhookOptions _options = options.Value;

    /// <summary>Why the address is refused, or null when it may be called.</summary>
    public string? Problem(IPAddress address)
    {
        ArgumentNullException.ThrowIfNull(address);
        if (address.IsIPv4MappedToIPv6) { address = address.MapToIPv4(); }
        if (_options.AllowLoopback && IPAddress.IsLoopback(address)) { return null; }
        foreach (var (network, prefix, kind) in Refused)
        {
            if (InNetwork(address, network, prefix)) { return $"{address} is {kind}."; }
        }
        return null;
    }

    /// <summary>Checks a URL a client gives; null when it is usable, else the reason (DNS is resolved here).</summary>
    public async Task<string?> CheckUrlAsync(string? text, CancellationToken cancellationToken)
    {
        if (string.IsNullOrWhiteSpace(text) || text.Length > 2_000 || !Uri.TryCreate(text, UriKind.Absolute, out var url))
        {
            return "must be an absolute URL of at most 2000 characters.";
        }
        if (url.Scheme != Uri.UriSchemeHttps && !(url.Scheme == Uri.UriSchemeHttp && !_options.RequireHttps))
        {
            return _options.RequireHttps ? "must be an https URL." : "must be an http or https URL.";
        }
        if (!string.IsNullOrEmpty(url.UserInfo)) { return "must not carry a user name or password."; }
        if (!string.IsNullOrEmpty(url.Fragment)) { return "must not have a fragment."; }
        try
        {
            var addresses = await ResolveAsync(url.IdnHost, cancellationToken);
            foreach (var address in addresses)
            {
                if (Problem(address) is { } problem) { return $"resolves to a refused destination: {problem}"; }
            }
            return null;
        }
        catch (SocketException e)
        {
            return $"names a host that does not resolve ({e.SocketErrorCode}).";
        }
    }

    /// <summary>
    /// The client every delivery goes through: it connects only to checked addresses, follows no redirect, sends no
    /// cookies and uses no proxy (a proxy would connect on our behalf, past the check).
    /// </summary>
    public HttpClient CreateClient() => new(new SocketsHttpHandler
    {
        AllowAutoRedirect = false,
        UseCookies = false,
        UseProxy = false,
        AutomaticDecompression = DecompressionMethods.None,
        PooledConnectionLifetime = TimeSpan.FromMinutes(2),
        ConnectTimeout = _options.AttemptTimeout,
        ConnectCallback = ConnectAsync,
    })
    {
        Timeout = Timeout.InfiniteTimeSpan,
    };

    private async ValueTask<Stream> ConnectAsync(SocketsHttpConnectionContext context, CancellationToken cancellationToken)
    {
        var addresses = await ResolveAsync(context.DnsEndPoint.Host, cancellationToken);
        string? refusal = null;
        foreach (var address in addresses)
        {
            if (Problem(address) is { } problem)
            {
                refusal ??= problem;
                continue;
            }
            var socket = new Socket(address.AddressFamily, SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
            try
            {
                await socket.ConnectAsync(new IPEndPoint(address, context.DnsEndPoint.Port), cancellationToken);
                return new NetworkStream(socket, ownsSocket: true);
            }
            catch (SocketException)
            {
                socket.Dispose();
                if (address.Equals(addresses[^1])) { throw; }
            }
        }
        throw new WebhookDestinationRefusedException($"The destination is refused: {refusal ?? "it resolves to no address."}");
    }

    private static async Task<IPAddress[]> ResolveAsync(string host, CancellationToken cancellationToken) =>
        IPAddress.TryParse(host.Trim('[', ']'), out var literal) ? [literal] : await Dns.GetHostAddressesAsync(host, cancellationToken);

    private static bool InNetwork(IPAddress address, IPAddress network, int prefix)
    {
        if (address.AddressFamily != network.AddressFamily) { return false; }
        var a = address.GetAddressBytes();
        var n = network.GetAddressBytes();
        var whole = prefix / 8;
        for (var i = 0; i < whole; i++)
        {
            if (a[i] != n[i]) { return false; }
        }
        var rest = prefix % 8;
        if (rest == 0) { return true; }
        var mask = (byte)(0xFF << (8 - rest));
        return (a[whole] & mask) == (n[whole] & mask);
    }
}
