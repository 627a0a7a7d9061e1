using System.Net;
using Google.Apis.Auth.OAuth2;
using StoryDream.GoogleCloud;

namespace StoryDream.Tests.GoogleCloud;

public sealed class GoogleAuthHandlerTests
{
    private static CancellationToken Token => TestContext.Current.CancellationToken;

    [Fact]
    public async Task SendAsync_EmulatorMode_SendsOwnerAndNeverLoadsCredentials()
    {
        var loads = 0;
        var capture = new CapturingHandler();
        using var http = new HttpClient(new GoogleAuthHandler(emulator: true, () =>
        {
            Interlocked.Increment(ref loads);
            throw new InvalidOperationException("Emulator mode must not load credentials.");
        })
        { InnerHandler = capture });

        await http.GetAsync(new Uri("http://127.0.0.1:1/first"), Token);
        await http.GetAsync(new Uri("http://127.0.0.1:1/second"), Token);

        Assert.Equal(["Bearer owner", "Bearer owner"], capture.Authorizations);
        Assert.Equal(0, loads);
    }

    [Fact]
    public async Task SendAsync_ProductionMode_SendsTheCredentialsTokenAndLoadsItOnce()
    {
        var loads = 0;
        var credential = new FakeTokenAccess();
        var capture = new CapturingHandler();
        using var http = new HttpClient(new GoogleAuthHandler(emulator: false, () =>
        {
            Interlocked.Increment(ref loads);
            return Task.FromResult<ITokenAccess>(credential);
        })
        { InnerHandler = capture });

        await http.GetAsync(new Uri("https://firestore.example.invalid/v1/a"), Token);
        await http.GetAsync(new Uri("https://firestore.example.invalid/v1/b"), Token);

        Assert.Equal(["Bearer token-1", "Bearer token-2"], capture.Authorizations);
        Assert.Equal(["https://firestore.example.invalid/v1/a", "https://firestore.example.invalid/v1/b"], credential.AuthUris);
        Assert.Equal(1, loads);
    }

    [Fact]
    public async Task SendAsync_CredentialFails_PropagatesWithoutSending()
    {
        var capture = new CapturingHandler();
        using var http = new HttpClient(new GoogleAuthHandler(emulator: false, () => throw new InvalidOperationException("no ADC here"))
        { InnerHandler = capture });

        await Assert.ThrowsAsync<InvalidOperationException>(() => http.GetAsync(new Uri("https://firestore.example.invalid/"), Token));
        Assert.Empty(capture.Authorizations);
    }

    /// <summary>Records what reaches the network edge and answers 204, so nothing leaves the process.</summary>
    internal sealed class CapturingHandler : HttpMessageHandler
    {
        private readonly List<string?> _authorizations = [];

        public IReadOnlyList<string?> Authorizations
        {
            get
            {
                lock (_authorizations)
                {
                    return [.. _authorizations];
                }
            }
        }

        protected override Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
        {
            lock (_authorizations)
            {
                _authorizations.Add(request.Headers.Authorization?.ToString());
            }
            return Task.FromResult(new HttpResponseMessage(HttpStatusCode.NoContent));
        }
    }

    /// <summary>A credential whose token changes on every call, so a test can tell each request got a fresh ask.</summary>
    internal sealed class FakeTokenAccess : ITokenAccess
    {
        private readonly List<string?> _authUris = [];
        private int _calls;

        public IReadOnlyList<string?> AuthUris
        {
            get
            {
                lock (_authUris)
                {
                    return [.. _authUris];
                }
            }
        }

        public Task<string> GetAccessTokenForRequestAsync(string? authUri = null, CancellationToken cancellationToken = default)
        {
            lock (_authUris)
            {
                _authUris.Add(authUri);
            }
            return Task.FromResult($"token-{Interlocked.Increment(ref _calls)}");
        }
    }
}
