using System.Collections.Concurrent;
using System.Net;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using StoryDream.Api.Projects;
using StoryDream.Snapshots;
using StoryDream.Tests.Infrastructure;

namespace StoryDream.Tests.Api;

/// <summary>Delete and restore tell the session side through <see cref="IProjectSessions"/>.</summary>
public sealed class ProjectSessionsHookTests(TestServers servers)
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact(Timeout = 120_000)]
    public async Task DeleteAndRestore_CallTheSessionSide()
    {
        var sessions = new RecordingSessions();
        var api = new ApiFixture(servers) { ConfigureServices = s => s.Replace(ServiceDescriptor.Singleton<IProjectSessions>(sessions)) };
        await api.InitializeAsync();
        try
        {
            using var client = api.Client(ApiFixture.NewUser());
            var project = await ApiFixture.CreateProjectAsync(client);
            var store = api.Service<ISnapshotStore>();
            var template = (await store.ReadTreeAsync(project.Id, project.HeadSnapshotId, Ct))!;
            var edited = await SnapshotsApiTests.CommitAsync(store, project.Id, template, ("src/x.ts", "x"));

            (await client.PostAsync($"/api/projects/{project.Id}/snapshots/{template.Id}/restore", null, Ct)).EnsureSuccessStatusCode();
            Assert.Equal(HttpStatusCode.NoContent, (await client.DeleteAsync($"/api/projects/{project.Id}", Ct)).StatusCode);

            Assert.Equal([$"begin restore {project.Id}", $"moved {project.Id} {template.Id}", $"end restore {project.Id}", $"discard {project.Id}"], sessions.Calls);
            Assert.NotEqual(template.Id, edited.Id);
        }
        finally
        {
            await api.DisposeAsync();
        }
    }

    private sealed class RecordingSessions : IProjectSessions
    {
        private readonly ConcurrentQueue<string> _calls = new();

        public IReadOnlyList<string> Calls => [.. _calls];

        public Task DiscardAsync(string projectId, CancellationToken cancellationToken)
        {
            _calls.Enqueue($"discard {projectId}");
            return Task.CompletedTask;
        }

        public Task<IAsyncDisposable?> BeginRestoreAsync(string projectId, CancellationToken cancellationToken)
        {
            _calls.Enqueue($"begin restore {projectId}");
            return Task.FromResult<IAsyncDisposable?>(new End(() => _calls.Enqueue($"end restore {projectId}")));
        }

        public Task HeadMovedAsync(string projectId, string snapshotId, CancellationToken cancellationToken)
        {
            _calls.Enqueue($"moved {projectId} {snapshotId}");
            return Task.CompletedTask;
        }

        private sealed class End(Action onEnd) : IAsyncDisposable
        {
            public ValueTask DisposeAsync()
            {
                onEnd();
                return ValueTask.CompletedTask;
            }
        }
    }
}
