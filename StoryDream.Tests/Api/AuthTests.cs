using System.Buffers.Text;
using System.Net;
using System.Net.Http.Headers;
using System.Text;
using StoryDream.Api.Auth;
using StoryDream.GoogleCloud.Firestore;

namespace StoryDream.Tests.Api;

public sealed class AuthTests(ApiFixture api) : IClassFixture<ApiFixture>
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact(Timeout = 60_000)]
    public async Task Request_NoCredentials_401Problem()
    {
        using var client = api.Client();

        await ProblemAssert.IsProblemAsync(await client.GetAsync("/api/projects", Ct), HttpStatusCode.Unauthorized, "unauthorized");
    }

    [Fact(Timeout = 60_000)]
    public async Task Request_ValidToken_200()
    {
        using var client = api.Client(ApiFixture.NewUser());

        Assert.Equal(HttpStatusCode.OK, (await client.GetAsync("/api/projects", Ct)).StatusCode);
    }

    public static TheoryData<string> BadTokens => new() { "forged", "expired", "audience", "issuer", "none", "subject", "garbage", "future" };

    [Theory(Timeout = 60_000)]
    [MemberData(nameof(BadTokens))]
    public async Task Request_BadToken_401(string kind)
    {
        var user = ApiFixture.NewUser();
        var token = kind switch
        {
            "forged" => api.Token(user, key: DevTokens.NewSigningKey()),
            "expired" => api.Token(user, now: DateTimeOffset.UtcNow.AddHours(-3), lifetime: TimeSpan.FromHours(1)),
            "audience" => api.Token(user, audience: "someone-else"),
            "issuer" => api.Token(user, issuer: "https://evil.example"),
            "none" => Unsigned(user),
            "subject" => SignedWithSubject("bad/subject"),
            "future" => api.Token(user, now: DateTimeOffset.UtcNow.AddHours(2)),
            _ => "not.a.jwt",
        };
        using var client = api.Client();
        client.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", token);

        await ProblemAssert.IsProblemAsync(await client.GetAsync("/api/projects", Ct), HttpStatusCode.Unauthorized, "unauthorized");
    }

    [Fact(Timeout = 60_000)]
    public async Task FirstCall_NewUser_UpsertsUserDocument()
    {
        var user = ApiFixture.NewUser();
        using var client = api.Client(user);

        (await client.GetAsync("/api/projects", Ct)).EnsureSuccessStatusCode();

        var document = await api.Service<FirestoreClient>().GetAsync<Dictionary<string, object?>>($"users/{user}", Ct);
        Assert.NotNull(document);
        Assert.Equal($"{user}@example.com", document.Data["email"]?.ToString());
        Assert.Equal(user, document.Data["displayName"]?.ToString());
        Assert.Equal("free", document.Data["plan"]?.ToString());
        Assert.True(document.Data.ContainsKey("createdAt") && document.Data.ContainsKey("lastLoginAt"));
    }

    /// <summary>A token claiming <c>alg: none</c> with no signature.</summary>
    private static string Unsigned(string user)
    {
        static string Part(string json) => Base64Url.EncodeToString(Encoding.UTF8.GetBytes(json));
        var exp = DateTimeOffset.UtcNow.AddHours(1).ToUnixTimeSeconds();
        return $"{Part("{\"alg\":\"none\",\"typ\":\"JWT\"}")}.{Part($"{{\"sub\":\"{user}\",\"iss\":\"{ApiFixture.Issuer}\",\"aud\":\"{ApiFixture.Audience}\",\"exp\":{exp}}}")}.";
    }

    /// <summary>A correctly signed token whose subject is not a usable user id (DevTokens refuses to mint one).</summary>
    private string SignedWithSubject(string subject)
    {
        var valid = api.Token("placeholder");
        var parts = valid.Split('.');
        var payload = Encoding.UTF8.GetString(Base64Url.DecodeFromChars(parts[1])).Replace("\"placeholder\"", $"\"{subject}\"", StringComparison.Ordinal);
        var signed = $"{parts[0]}.{Base64Url.EncodeToString(Encoding.UTF8.GetBytes(payload))}";
        var signature = System.Security.Cryptography.HMACSHA256.HashData(Convert.FromBase64String(api.SigningKey), Encoding.ASCII.GetBytes(signed));
        return $"{signed}.{Base64Url.EncodeToString(signature)}";
    }
}
