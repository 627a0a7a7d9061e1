using System.Net;
using System.Text;
using System.Text.Json;
using StackExchange.Redis;
using StoryDream.SessionGateway.Models;
using StoryDream.Sessions;
using StoryDream.Tests.Infrastructure;

namespace StoryDream.Tests.SessionGateway;

/// <summary>The model proxy on the gateway's internal port, in front of the Messages API stand-in.</summary>
public sealed class ModelProxyTests(TestServers servers)
{
    private const string RealKey = "sk-ant-the-platforms-real-key";
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact(Timeout = 60_000)]
    public async Task Stream_ValidToken_PassesThroughAsItStreamsWithTheRealKeyAndMetersUsage()
    {
        await using var upstream = await StandInAnthropicApi.StartAsync();
        var (proxy, gateway, redis) = await StartAsync(upstream);
        await using var _ = gateway;
        using var __ = redis;
        var (token, sessionId, owner) = await SessionAsync(redis);
        upstream.MidStream = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        using var client = new HttpClient { Timeout = TimeSpan.FromSeconds(30) };

        using var request = Messages(proxy, token, "/v1/messages?beta=true");
        using var response = await client.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, Ct);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("text/event-stream", response.Content.Headers.ContentType?.MediaType);
        using var reader = new StreamReader(await response.Content.ReadAsStreamAsync(Ct));
        // The first event arrives while the upstream still holds the rest back: nothing is buffered on the way.
        Assert.Equal("event: message_start", await reader.ReadLineAsync(Ct));
        upstream.MidStream.SetResult();
        var rest = await reader.ReadToEndAsync(Ct);
        Assert.Contains("Hello", rest, StringComparison.Ordinal);
        Assert.Contains("event: message_stop", rest, StringComparison.Ordinal);

        var seen = Assert.Single(upstream.Requests);
        Assert.Equal("?beta=true", seen.Query);
        Assert.Equal(RealKey, seen.Headers["x-api-key"]);
        Assert.False(seen.Headers.ContainsKey("authorization"));
        Assert.Equal("2023-06-01", seen.Headers["anthropic-version"]);
        Assert.Equal("identity", seen.Headers["accept-encoding"]);
        Assert.DoesNotContain(token, string.Join('\n', seen.Headers.Values), StringComparison.Ordinal);
        Assert.Contains("\"stream\":true", seen.Body, StringComparison.Ordinal);
        // Forwarded as sent, with its length rather than re-chunked.
        Assert.Equal(Encoding.UTF8.GetByteCount(seen.Body).ToString(System.Globalization.CultureInfo.InvariantCulture), seen.Headers["content-length"]);
        Assert.False(seen.Headers.ContainsKey("transfer-encoding"));

        await SessionSeed.EventuallyAsync(async () => (long)await redis.GetDatabase().HashGetAsync(ModelUsage.SessionKey(sessionId), "output") == StandInAnthropicApi.OutputTokens,
            "the usage to be recorded", Ct);
        var session = await redis.GetDatabase().HashGetAllAsync(ModelUsage.SessionKey(sessionId));
        Assert.Equal(StandInAnthropicApi.InputTokens, (long)session.Single(e => e.Name == "input").Value);
        Assert.Equal(7, (long)session.Single(e => e.Name == "cacheRead").Value);
        var day = await redis.GetDatabase().HashGetAllAsync(ModelUsage.UserDayKey(owner, DateTimeOffset.UtcNow));
        Assert.Equal(StandInAnthropicApi.OutputTokens, (long)day.Single(e => e.Name == "output").Value);
    }

    [Fact(Timeout = 60_000)]
    public async Task Request_MissingWrongOrRevokedToken_401ThatTheAgentDoesNotRetryAndNothingForwarded()
    {
        await using var upstream = await StandInAnthropicApi.StartAsync();
        var (proxy, gateway, redis) = await StartAsync(upstream);
        await using var _ = gateway;
        using var __ = redis;
        var (token, sessionId, _) = await SessionAsync(redis);
        using var client = new HttpClient { Timeout = TimeSpan.FromSeconds(30) };

        var forged = token[..^4] + "AAAA";
        foreach (var attempt in new[] { null, "sk-ant-guess", forged, PodCredentials.NewModelToken(sessionId) })
        {
            await AssertErrorAsync(await client.SendAsync(Messages(proxy, attempt), Ct), HttpStatusCode.Unauthorized, "authentication_error");
        }
        await redis.GetDatabase().KeyDeleteAsync(RedisKeys.Session(sessionId));
        await AssertErrorAsync(await client.SendAsync(Messages(proxy, token), Ct), HttpStatusCode.Unauthorized, "authentication_error");
        Assert.Empty(upstream.Requests);
    }

    [Fact(Timeout = 60_000)]
    public async Task Request_UserOverDailyBudget_403WithABudgetMessageAndNothingForwarded()
    {
        await using var upstream = await StandInAnthropicApi.StartAsync();
        var (proxy, gateway, redis) = await StartAsync(upstream, ("ModelProxy:DailyTokenBudget", "40"));
        await using var _ = gateway;
        using var __ = redis;
        var (token, _, _) = await SessionAsync(redis);
        using var client = new HttpClient { Timeout = TimeSpan.FromSeconds(30) };

        using (var first = await client.SendAsync(Messages(proxy, token), Ct)) { await first.Content.ReadAsStringAsync(Ct); }
        // 12 input + 5 cache writes + 34 output: over 40 now.
        await SessionSeed.EventuallyAsync(async () =>
        {
            using var response = await client.SendAsync(Messages(proxy, token), Ct);
            if (response.StatusCode != HttpStatusCode.Forbidden) { return false; }
            var message = await AssertErrorAsync(response, HttpStatusCode.Forbidden, "permission_error");
            Assert.Contains("budget is used up", message, StringComparison.Ordinal);
            return true;
        }, "the budget to be enforced", Ct);
        Assert.True(upstream.Requests.Count <= 2);
    }

    [Fact(Timeout = 60_000)]
    public async Task Request_OtherPathOrMethod_RefusedAndPublicPortHasNoProxy()
    {
        await using var upstream = await StandInAnthropicApi.StartAsync();
        var (proxy, gateway, redis) = await StartAsync(upstream);
        await using var _ = gateway;
        using var __ = redis;
        var (token, _, _) = await SessionAsync(redis);
        using var client = new HttpClient { Timeout = TimeSpan.FromSeconds(30) };

        await AssertErrorAsync(await client.SendAsync(Messages(proxy, token, "/v1/complete"), Ct), HttpStatusCode.NotFound, "not_found_error");
        using var get = new HttpRequestMessage(HttpMethod.Get, new Uri(proxy, "/v1/messages"));
        get.Headers.Add("x-api-key", token);
        await AssertErrorAsync(await client.SendAsync(get, Ct), HttpStatusCode.MethodNotAllowed, "invalid_request_error");
        using var viaPublicPort = await client.SendAsync(Messages(gateway.Url("/"), token), Ct);
        Assert.NotEqual(HttpStatusCode.OK, viaPublicPort.StatusCode);
        Assert.Empty(upstream.Requests);
    }

    [Fact(Timeout = 60_000)]
    public async Task Request_UpstreamSlow_ClearErrorWithinTheDeadlineThatTheAgentDoesNotRetry()
    {
        await using var upstream = await StandInAnthropicApi.StartAsync();
        upstream.HoldHeaders = TimeSpan.FromSeconds(30);
        var (proxy, gateway, redis) = await StartAsync(upstream, ("ModelProxy:UpstreamTimeout", "00:00:01"));
        await using var _ = gateway;
        using var __ = redis;
        var (token, _, _) = await SessionAsync(redis);
        using var client = new HttpClient { Timeout = TimeSpan.FromSeconds(20) };

        var message = await AssertErrorAsync(await client.SendAsync(Messages(proxy, token), Ct), HttpStatusCode.GatewayTimeout, "api_error");
        Assert.Contains("model is unavailable", message, StringComparison.Ordinal);
    }

    private async Task<(Uri Proxy, GatewayServer Gateway, ConnectionMultiplexer Redis)> StartAsync(StandInAnthropicApi upstream, params (string Key, string Value)[] extra)
    {
        var redisAddress = await servers.RedisAsync();
        var port = LauncherProcess.FreePort();
        var settings = new Dictionary<string, string?>
        {
            ["ModelProxy:Port"] = port.ToString(System.Globalization.CultureInfo.InvariantCulture),
            ["ModelProxy:ApiKey"] = RealKey,
            ["ModelProxy:Upstream"] = upstream.Url.ToString(),
        };
        foreach (var (key, value) in extra) { settings[key] = value; }
        var gateway = GatewayServer.Start(redisAddress, settings);
        return (new Uri($"http://127.0.0.1:{port}/"), gateway, await ConnectionMultiplexer.ConnectAsync(redisAddress));
    }

    private static async Task<(string Token, string SessionId, string Owner)> SessionAsync(ConnectionMultiplexer redis)
    {
        var sessionId = Guid.NewGuid().ToString("D");
        var owner = "user-" + Guid.NewGuid().ToString("N");
        var token = PodCredentials.NewModelToken(sessionId);
        var url = new Uri("http://127.0.0.1:9/");
        var record = new SessionRecord(sessionId, Guid.NewGuid().ToString("D"), owner, SessionStatus.Ready, "local", url, url, url,
            DateTimeOffset.UtcNow, DateTimeOffset.UtcNow, PodCredentials.NewPodSecret(), PodCredentials.HashModelToken(token));
        await redis.GetDatabase().HashSetAsync(RedisKeys.Session(sessionId), record.ToHashEntries());
        return (token, sessionId, owner);
    }

    private static HttpRequestMessage Messages(Uri proxy, string? token, string path = "/v1/messages")
    {
        var request = new HttpRequestMessage(HttpMethod.Post, new Uri(proxy, path))
        {
            Content = new StringContent("""{"model":"claude-standin","max_tokens":64,"stream":true,"messages":[{"role":"user","content":"hi"}]}""", Encoding.UTF8, "application/json"),
        };
        request.Headers.Add("anthropic-version", "2023-06-01");
        request.Headers.TryAddWithoutValidation("Accept-Encoding", "gzip, deflate, br, zstd");
        if (token is not null) { request.Headers.Add("x-api-key", token); }
        return request;
    }

    private static async Task<string> AssertErrorAsync(HttpResponseMessage response, HttpStatusCode status, string type)
    {
        using (response)
        {
            Assert.Equal(status, response.StatusCode);
            Assert.Equal("false", Assert.Single(response.Headers.GetValues("x-should-retry")));
            using var body = JsonDocument.Parse(await response.Content.ReadAsStringAsync(Ct));
            Assert.Equal("error", body.RootElement.GetProperty("type").GetString());
            Assert.Equal(type, body.RootElement.GetProperty("error").GetProperty("type").GetString());
            return body.RootElement.GetProperty("error").GetProperty("message").GetString()!;
        }
    }
}
