using System.Net;
using System.Text.Json;

namespace StoryDream.Tests.Api;

internal static class ProblemAssert
{
    /// <summary>Asserts an RFC 9457 problem with the given status and type; returns its JSON.</summary>
    public static async Task<JsonElement> IsProblemAsync(HttpResponseMessage response, HttpStatusCode status, string type)
    {
        Assert.Equal(status, response.StatusCode);
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
        var body = JsonDocument.Parse(await response.Content.ReadAsStringAsync(TestContext.Current.CancellationToken)).RootElement;
        Assert.Equal($"https://storydream.dev/problems/{type}", body.GetProperty("type").GetString());
        Assert.Equal((int)status, body.GetProperty("status").GetInt32());
        return body;
    }

    /// <summary>Asserts a 400 validation problem whose <c>errors</c> name exactly <paramref name="fields"/>.</summary>
    public static async Task ValidationAsync(HttpResponseMessage response, params string[] fields)
    {
        var body = await IsProblemAsync(response, HttpStatusCode.BadRequest, "validation");
        var named = body.GetProperty("errors").EnumerateObject().Select(p => p.Name).Order(StringComparer.Ordinal).ToArray();
        Assert.Equal(fields.Order(StringComparer.Ordinal).ToArray(), named);
    }
}
