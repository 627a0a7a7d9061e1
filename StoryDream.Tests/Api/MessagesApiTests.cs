using System.Net;
using System.Net.Http.Json;
using StoryDream.Api.Http;
using StoryDream.Api.Messages;

namespace StoryDream.Tests.Api;

public sealed class MessagesApiTests(ApiFixture api) : IClassFixture<ApiFixture>
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact(Timeout = 120_000)]
    public async Task List_PagesOfFifty_OldestFirstAcrossPages()
    {
        using var client = api.Client(ApiFixture.NewUser());
        var project = await ApiFixture.CreateProjectAsync(client);
        var store = api.Service<IMessageStore>();
        var written = new List<ChatMessage>();
        for (var i = 0; i < 120; i++)
        {
            var role = i % 2 == 0 ? MessageRoles.User : MessageRoles.Assistant;
            MessageAction[] actions = role == MessageRoles.Assistant ? [new MessageAction("file_edit", "src/App.tsx", $"edit {i}", null)] : [];
            written.Add(await store.AddAsync(project.Id, new ChatMessage(Guid.NewGuid().ToString("D"), role, $"message {i}", MessageStatuses.Complete, actions, default, 10 + i), Ct));
        }

        var pages = new List<Page<ChatMessage>>();
        string? token = null;
        do
        {
            var page = (await client.GetFromJsonAsync<Page<ChatMessage>>(
                $"/api/projects/{project.Id}/messages?pageSize=50{(token is null ? "" : "&pageToken=" + Uri.EscapeDataString(token))}", Ct))!;
            pages.Add(page);
            token = page.NextPageToken;
        }
        while (token is not null);

        Assert.Equal([50, 50, 20], pages.Select(p => p.Items.Count));
        Assert.Equal(written, pages.SelectMany(p => p.Items), new MessageComparer());
    }

    [Fact(Timeout = 120_000)]
    public async Task List_NewestFirst_NewestPageFirstThenOlderPages()
    {
        using var client = api.Client(ApiFixture.NewUser());
        var project = await ApiFixture.CreateProjectAsync(client);
        var store = api.Service<IMessageStore>();
        var written = new List<ChatMessage>();
        for (var i = 0; i < 45; i++)
        {
            written.Add(await store.AddAsync(project.Id,
                new ChatMessage(Guid.NewGuid().ToString("D"), MessageRoles.User, $"message {i}", MessageStatuses.Complete, [], default, null), Ct));
        }

        var pages = new List<Page<ChatMessage>>();
        string? token = null;
        do
        {
            var page = (await client.GetFromJsonAsync<Page<ChatMessage>>(
                $"/api/projects/{project.Id}/messages?order=newest&pageSize=20{(token is null ? "" : "&pageToken=" + Uri.EscapeDataString(token))}", Ct))!;
            pages.Add(page);
            token = page.NextPageToken;
        }
        while (token is not null);

        Assert.Equal([20, 20, 5], pages.Select(p => p.Items.Count));
        Assert.Equal(Enumerable.Reverse(written), pages.SelectMany(p => p.Items), new MessageComparer());
    }

    [Fact(Timeout = 60_000)]
    public async Task List_TokenOfTheOtherOrder_400()
    {
        using var client = api.Client(ApiFixture.NewUser());
        var project = await ApiFixture.CreateProjectAsync(client);
        var store = api.Service<IMessageStore>();
        for (var i = 0; i < 2; i++)
        {
            await store.AddAsync(project.Id, new ChatMessage(Guid.NewGuid().ToString("D"), MessageRoles.User, "m", MessageStatuses.Complete, [], default, null), Ct);
        }
        var oldestToken = (await client.GetFromJsonAsync<Page<ChatMessage>>($"/api/projects/{project.Id}/messages?pageSize=1", Ct))!.NextPageToken!;

        var response = await client.GetAsync($"/api/projects/{project.Id}/messages?order=newest&pageSize=1&pageToken={Uri.EscapeDataString(oldestToken)}", Ct);

        await ProblemAssert.ValidationAsync(response, "pageToken");
    }

    [Fact(Timeout = 60_000)]
    public async Task List_UnknownOrder_400NamingOrder()
    {
        using var client = api.Client(ApiFixture.NewUser());
        var project = await ApiFixture.CreateProjectAsync(client);

        var response = await client.GetAsync($"/api/projects/{project.Id}/messages?order=sideways", Ct);

        await ProblemAssert.ValidationAsync(response, "order");
    }

    [Fact(Timeout = 60_000)]
    public async Task List_NoMessages_EmptyPage()
    {
        using var client = api.Client(ApiFixture.NewUser());
        var project = await ApiFixture.CreateProjectAsync(client);

        var page = (await client.GetFromJsonAsync<Page<ChatMessage>>($"/api/projects/{project.Id}/messages", Ct))!;

        Assert.Empty(page.Items);
        Assert.Null(page.NextPageToken);
    }

    [Fact(Timeout = 60_000)]
    public async Task List_TokenOfAnotherProject_400()
    {
        using var client = api.Client(ApiFixture.NewUser());
        var first = await ApiFixture.CreateProjectAsync(client);
        var second = await ApiFixture.CreateProjectAsync(client);
        var store = api.Service<IMessageStore>();
        for (var i = 0; i < 2; i++)
        {
            await store.AddAsync(first.Id, new ChatMessage(Guid.NewGuid().ToString("D"), MessageRoles.User, "m", MessageStatuses.Complete, [], default, null), Ct);
        }
        var token = (await client.GetFromJsonAsync<Page<ChatMessage>>($"/api/projects/{first.Id}/messages?pageSize=1", Ct))!.NextPageToken!;

        var response = await client.GetAsync($"/api/projects/{second.Id}/messages?pageToken={Uri.EscapeDataString(token)}", Ct);

        await ProblemAssert.ValidationAsync(response, "pageToken");
    }

    [Fact(Timeout = 60_000)]
    public async Task List_PageSizeTooLarge_400()
    {
        using var client = api.Client(ApiFixture.NewUser());
        var project = await ApiFixture.CreateProjectAsync(client);

        var response = await client.GetAsync($"/api/projects/{project.Id}/messages?pageSize=201", Ct);

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        await ProblemAssert.ValidationAsync(response, "pageSize");
    }

    [Fact(Timeout = 60_000)]
    public async Task List_AnotherUsersProjectWithMessages_404WithNothingOfTheirs()
    {
        using var owner = api.Client(ApiFixture.NewUser());
        using var intruder = api.Client(ApiFixture.NewUser());
        var project = await ApiFixture.CreateProjectAsync(owner);
        await api.Service<IMessageStore>().AddAsync(project.Id,
            new ChatMessage(Guid.NewGuid().ToString("D"), MessageRoles.User, "private words", MessageStatuses.Complete, [], default, null), Ct);

        var response = await intruder.GetAsync($"/api/projects/{project.Id}/messages", Ct);
        // Bad paging does not tell a stranger the project exists either.
        var badPaging = await intruder.GetAsync($"/api/projects/{project.Id}/messages?pageSize=0", Ct);

        await ProblemAssert.IsProblemAsync(response, HttpStatusCode.NotFound, "not-found");
        Assert.DoesNotContain("private words", await response.Content.ReadAsStringAsync(Ct), StringComparison.Ordinal);
        await ProblemAssert.IsProblemAsync(badPaging, HttpStatusCode.NotFound, "not-found");
    }

    [Theory(Timeout = 60_000)]
    [InlineData("not-a-project")]
    [InlineData("..%2F..%2Fusers")]
    [InlineData("00000000-0000-0000-0000-00000000000G")]
    public async Task List_MalformedProjectId_404(string id)
    {
        using var client = api.Client(ApiFixture.NewUser());

        var response = await client.GetAsync($"/api/projects/{id}/messages", Ct);

        await ProblemAssert.IsProblemAsync(response, HttpStatusCode.NotFound, "not-found");
    }

    private sealed class MessageComparer : IEqualityComparer<ChatMessage>
    {
        public bool Equals(ChatMessage? x, ChatMessage? y) =>
            x is not null && y is not null && x.Id == y.Id && x.Role == y.Role && x.Content == y.Content && x.Status == y.Status
            && x.CreatedAt == y.CreatedAt && x.TokenCount == y.TokenCount && x.Actions.SequenceEqual(y.Actions);

        public int GetHashCode(ChatMessage obj) => obj.Id.GetHashCode(StringComparison.Ordinal);
    }
}
