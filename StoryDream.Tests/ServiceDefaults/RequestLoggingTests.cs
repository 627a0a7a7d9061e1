using System.Collections.Concurrent;
using System.Diagnostics;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace StoryDream.Tests.ServiceDefaults;

/// <summary>Query strings carry tokens (the chat's, a preview's): no service writes them to its logs or traces.</summary>
public sealed class RequestLoggingTests
{
    [Fact]
    public async Task ServiceDefaults_RequestWithATokenInItsQuery_TokenInNoLogLineAndNoSpan()
    {
        const string secret = "s3cret-token-value";
        var logs = new ConcurrentQueue<string>();
        var spans = new ConcurrentQueue<string>();
        using var listener = new ActivityListener
        {
            ShouldListenTo = _ => true,
            Sample = (ref ActivityCreationOptions<ActivityContext> _) => ActivitySamplingResult.AllDataAndRecorded,
            ActivityStopped = activity => spans.Enqueue(activity.DisplayName + " " + string.Join(' ', activity.TagObjects.Select(t => $"{t.Key}={t.Value}"))),
        };
        ActivitySource.AddActivityListener(listener);
        var builder = WebApplication.CreateBuilder();
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        builder.Logging.ClearProviders();
        builder.Logging.SetMinimumLevel(LogLevel.Trace);
        builder.Logging.AddProvider(new CollectingLoggerProvider(logs));
        builder.AddServiceDefaults();
        await using var app = builder.Build();
        app.MapGet("/api/projects/{id}/chat", () => "ok");
        await app.StartAsync(TestContext.Current.CancellationToken);
        var address = app.Services.GetRequiredService<IServer>().Features.GetRequiredFeature<IServerAddressesFeature>().Addresses.First();
        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(30) };

        var body = await http.GetStringAsync($"{address}/api/projects/p1/chat?access_token={secret}&ticket={secret}", TestContext.Current.CancellationToken);
        await app.StopAsync(TestContext.Current.CancellationToken);

        Assert.Equal("ok", body);
        Assert.NotEmpty(logs);
        Assert.DoesNotContain(logs, line => line.Contains(secret, StringComparison.Ordinal));
        Assert.DoesNotContain(spans, span => span.Contains(secret, StringComparison.Ordinal));
    }

    private sealed class CollectingLoggerProvider(ConcurrentQueue<string> lines) : ILoggerProvider
    {
        public ILogger CreateLogger(string categoryName) => new Collector(categoryName, lines);

        public void Dispose()
        {
        }

        private sealed class Collector(string category, ConcurrentQueue<string> lines) : ILogger
        {
            public IDisposable? BeginScope<TState>(TState state) where TState : notnull
            {
                lines.Enqueue($"{category} scope: {state}");
                return null;
            }

            public bool IsEnabled(LogLevel logLevel) => true;

            public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
            {
                var values = state is IEnumerable<KeyValuePair<string, object?>> pairs ? string.Join(' ', pairs.Select(p => $"{p.Key}={p.Value}")) : "";
                lines.Enqueue($"{category} {logLevel}: {formatter(state, exception)} {values}");
            }
        }
    }
}
