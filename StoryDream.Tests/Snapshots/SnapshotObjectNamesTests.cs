using StoryDream.Snapshots;

namespace StoryDream.Tests.Snapshots;

public sealed class SnapshotObjectNamesTests
{
    private const string Id = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";

    [Fact]
    public void ManifestId_ProjectAndTemplateManifests_Recognized()
    {
        Assert.Equal(Id, SnapshotObjectNames.ManifestId(SnapshotObjectNames.ProjectManifest("p", Id)));
        Assert.Equal(Id, SnapshotObjectNames.ManifestId(SnapshotObjectNames.TemplateManifest("default", Id)));
    }

    [Theory]
    [InlineData("blobs/0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef")]
    [InlineData("repos/p/snapshots/short.json")]
    [InlineData("repos/p/other/0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef.json")]
    public void ManifestId_OtherObjects_Null(string name) => Assert.Null(SnapshotObjectNames.ManifestId(name));
}
