using System.Buffers.Text;
using System.Text;
using StoryDream.Api.Http;

namespace StoryDream.Tests.Api;

public sealed class PagingTests
{
    private static readonly PageCursor Cursor = new("2026-01-02T03:04:05.1234560+00:00", "6f1c0a52-5b7e-4f7e-9a43-1c2d3e4f5a6b");

    [Fact]
    public void Decode_EncodedToken_SameCursor()
    {
        var errors = new ValidationErrors();
        var token = Paging.Encode("projects", Cursor);

        Assert.Equal(Cursor, Paging.Decode(token, "projects", _ => true, errors));
        Assert.False(errors.Any);
    }

    [Fact]
    public void Decode_TokenOfAnotherList_Refused()
    {
        var errors = new ValidationErrors();

        Assert.Null(Paging.Decode(Paging.Encode("messages:a", Cursor), "messages:b", _ => true, errors));
        Assert.Contains("pageToken", errors.ToDictionary().Keys);
    }

    [Theory]
    [InlineData("not base64!")]
    [InlineData("e30")]
    [InlineData("W10")]
    public void Decode_Garbage_Refused(string token)
    {
        var errors = new ValidationErrors();

        Assert.Null(Paging.Decode(token, "projects", _ => true, errors));
        Assert.Contains("pageToken", errors.ToDictionary().Keys);
    }

    [Fact]
    public void Decode_TamperedPosition_RefusedByValidator()
    {
        var errors = new ValidationErrors();
        var token = Base64Url.EncodeToString(Encoding.UTF8.GetBytes("{\"l\":\"projects\",\"p\":\"yesterday\",\"i\":\"x\"}"));

        Assert.Null(Paging.Decode(token, "projects", c => DateTimeOffset.TryParse(c.Position, out _), errors));
        Assert.True(errors.Any);
    }

    [Theory]
    [InlineData("0")]
    [InlineData("101")]
    [InlineData("-1")]
    [InlineData("ten")]
    [InlineData("1.5")]
    public void PageSize_OutOfRange_NamesField(string raw)
    {
        var errors = new ValidationErrors();

        Assert.Null(Paging.PageSize(raw, 20, 100, errors));
        Assert.Contains("pageSize", errors.ToDictionary().Keys);
    }

    [Fact]
    public void PageSize_Missing_Default() => Assert.Equal(20, Paging.PageSize(null, 20, 100, new ValidationErrors()));
}
