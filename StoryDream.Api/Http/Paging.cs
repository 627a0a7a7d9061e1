using System.Buffers.Text;
using System.Globalization;
using System.Text.Json;
using System.Text.Json.Serialization;

namespace StoryDream.Api.Http;

/// <summary>A page of a list: <c>{items, nextPageToken}</c>; no token on the last page.</summary>
public sealed record Page<T>(IReadOnlyList<T> Items, string? NextPageToken);

/// <summary>Where a list continues: the sort value and document id of the last item of the page before.</summary>
internal sealed record PageCursor(string Position, string Id);

/// <summary>
/// Page sizes and opaque page tokens. A token is base64url JSON of the cursor and the list it belongs to; a token
/// that does not decode to a well-formed cursor of that list is refused (400), never silently restarted.
/// </summary>
internal static class Paging
{
    private const int MaxTokenLength = 1024;

    public static int? PageSize(string? raw, int defaultSize, int maxSize, ValidationErrors errors)
    {
        ArgumentNullException.ThrowIfNull(errors);
        if (string.IsNullOrEmpty(raw)) { return defaultSize; }
        if (int.TryParse(raw, NumberStyles.None, CultureInfo.InvariantCulture, out var size) && size >= 1 && size <= maxSize)
        {
            return size;
        }
        errors.Add("pageSize", $"pageSize must be a whole number from 1 to {maxSize}.");
        return null;
    }

    public static string Encode(string list, PageCursor cursor)
    {
        ArgumentNullException.ThrowIfNull(cursor);
        var token = new TokenBody(list, cursor.Position, cursor.Id);
        return Base64Url.EncodeToString(JsonSerializer.SerializeToUtf8Bytes(token, PagingJsonContext.Default.TokenBody));
    }

    /// <summary>The cursor in <paramref name="token"/>, or null with an error when it is not one of <paramref name="list"/>.</summary>
    public static PageCursor? Decode(string? token, string list, Func<PageCursor, bool> isValid, ValidationErrors errors)
    {
        ArgumentNullException.ThrowIfNull(isValid);
        ArgumentNullException.ThrowIfNull(errors);
        if (string.IsNullOrEmpty(token)) { return null; }
        TokenBody? body = null;
        if (token.Length <= MaxTokenLength)
        {
            try
            {
                body = JsonSerializer.Deserialize(Base64Url.DecodeFromChars(token), PagingJsonContext.Default.TokenBody);
            }
            catch (Exception e) when (e is FormatException or JsonException)
            {
                body = null;
            }
        }
        if (body is null || body.List != list || body.Position is null || body.Id is null || !isValid(new PageCursor(body.Position, body.Id)))
        {
            errors.Add("pageToken", "pageToken is not a token this list returned.");
            return null;
        }
        return new PageCursor(body.Position, body.Id);
    }

    internal sealed record TokenBody(
        [property: JsonPropertyName("l")] string List,
        [property: JsonPropertyName("p")] string? Position,
        [property: JsonPropertyName("i")] string? Id);
}

[JsonSerializable(typeof(Paging.TokenBody))]
internal sealed partial class PagingJsonContext : JsonSerializerContext;
