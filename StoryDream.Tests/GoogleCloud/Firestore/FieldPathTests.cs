using StoryDream.GoogleCloud.Firestore;

namespace StoryDream.Tests.GoogleCloud.Firestore;

public sealed class FieldPathTests
{
    [Theory]
    [InlineData("name", new[] { "name" })]
    [InlineData("videoSettings.width", new[] { "videoSettings", "width" })]
    [InlineData("files.`src/a.tsx`.size", new[] { "files", "src/a.tsx", "size" })]
    [InlineData("`back\\`tick`", new[] { "back`tick" })]
    [InlineData("`slash\\\\`", new[] { "slash\\" })]
    [InlineData("__name__", new[] { "__name__" })]
    public void Parse_ValidPath_GivesSegments(string path, string[] segments)
    {
        Assert.Equal(segments, FieldPath.Parse(path));
    }

    [Theory]
    [InlineData("a..b")]
    [InlineData(".a")]
    [InlineData("a.")]
    [InlineData("`unclosed")]
    [InlineData("`a`b")]
    [InlineData("a/b")]
    [InlineData("a*")]
    [InlineData("``")]
    [InlineData("")]
    public void Parse_MalformedPath_ThrowsArgumentException(string path)
    {
        Assert.ThrowsAny<ArgumentException>(() => FieldPath.Parse(path));
    }

    [Theory]
    [InlineData("a.b", "a.b")]
    [InlineData("`a`.`b`", "a.b")]
    [InlineData("files.`src/a.tsx`", "files.`src/a.tsx`")]
    [InlineData("`1st`", "`1st`")]
    [InlineData("`back\\`tick`", "`back\\`tick`")]
    [InlineData("`héllo`", "`héllo`")]
    public void Normalize_AnySpelling_QuotesOnlyWhatNeedsIt(string path, string expected)
    {
        Assert.Equal(expected, FieldPath.Normalize(path));
    }
}
