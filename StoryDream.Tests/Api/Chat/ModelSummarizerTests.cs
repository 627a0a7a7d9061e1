using System.Net;
using System.Text.Json.Nodes;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using StoryDream.Api.Chat;
using StoryDream.Api.Messages;
using StoryDream.Api.Projects;

namespace StoryDream.Tests.Api.Chat;

/// <summary>
/// The model path of the summary against a loopback stand-in for Anthropic's Messages API (this machine has no network
/// to the real one): what is sent, what is kept, and the extractive fallback when the model fails.
/// </summary>
public sealed class ModelSummarizerTests
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact(Timeout = 30_000)]
    public async Task Summarize_WithAPreviousSummary_SendsItAndOnlyTheNewMessagesAndKeepsTheModelsText()
    {
        JsonObject? received = null;
        string? apiKey = null;
        string? version = null;
        await using var standIn = await StandInAsync(async context =>
        {
            // Read here: Kestrel reuses the request's headers once it is over.
            apiKey = context.Request.Headers["x-api-key"];
            version = context.Request.Headers["anthropic-version"];
            received = (await JsonNode.ParseAsync(context.Request.Body, cancellationToken: Ct))!.AsObject();
            await context.Response.WriteAsJsonAsync(new { content = new[] { new { type = "text", text = "  Otters, blue, 10 s.  " } } }, Ct);
        });
        var messages = Messages(6);
        using var http = new HttpClient();
        var summarizer = new ModelSummarizer(http, Options(standIn.Url), NullLogger<ModelSummarizer>.Instance);

        var text = await summarizer.SummarizeAsync(new ConversationSummary("Earlier: otters.", messages[3].Id), messages, Ct);

        Assert.Equal("Otters, blue, 10 s.", text);
        Assert.Equal("test-key", apiKey);
        Assert.Equal("2023-06-01", version);
        Assert.Equal("claude-test", (string?)received!["model"]);
        var prompt = (string)received["messages"]![0]!["content"]!;
        Assert.Contains("Summary so far:\nEarlier: otters.", prompt, StringComparison.Ordinal);
        Assert.Contains("message 4", prompt, StringComparison.Ordinal);
        Assert.Contains("message 5", prompt, StringComparison.Ordinal);
        Assert.DoesNotContain("message 3", prompt, StringComparison.Ordinal);
    }

    [Fact(Timeout = 30_000)]
    public async Task Summarize_ModelFails_ExtractiveSummaryInstead()
    {
        await using var standIn = await StandInAsync(context =>
        {
            context.Response.StatusCode = StatusCodes.Status503ServiceUnavailable;
            return Task.CompletedTask;
        });
        var messages = Messages(4);
        using var http = new HttpClient();
        var summarizer = new ModelSummarizer(http, Options(standIn.Url), NullLogger<ModelSummarizer>.Instance);

        var text = await summarizer.SummarizeAsync(null, messages, Ct);

        Assert.Equal(ExtractiveSummarizer.Summarize(messages), text);
    }

    private static IOptions<ChatOptions> Options(Uri url) =>
        Microsoft.Extensions.Options.Options.Create(new ChatOptions { AnthropicApiKey = "test-key", AnthropicBaseUrl = url, SummaryModel = "claude-test" });

    private static List<ChatMessage> Messages(int count) =>
        Enumerable.Range(0, count).Select(i => new ChatMessage(Guid.NewGuid().ToString("D"), i % 2 == 0 ? MessageRoles.User : MessageRoles.Assistant,
            $"message {i}", MessageStatuses.Complete, [], DateTimeOffset.UtcNow, null)).ToList();

    private static async Task<StandIn> StandInAsync(RequestDelegate handler)
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.ConfigureKestrel(kestrel => kestrel.Listen(IPAddress.Loopback, 0));
        var app = builder.Build();
        app.MapPost("/v1/messages", handler);
        await app.StartAsync(Ct);
        return new StandIn(app, new Uri(app.Urls.First() + "/"));
    }

    private sealed record StandIn(WebApplication App, Uri Url) : IAsyncDisposable
    {
        public ValueTask DisposeAsync() => App.DisposeAsync();
    }
}
