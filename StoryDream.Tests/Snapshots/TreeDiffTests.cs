using System.Text;
using StoryDream.Snapshots;

namespace StoryDream.Tests.Snapshots;

public sealed class TreeDiffTests
{
    private static ManifestEntry Entry(string path, string content) =>
        new(path, Sha256Hex.Of(Encoding.UTF8.GetBytes(content)), Encoding.UTF8.GetByteCount(content));

    [Fact]
    public void Compute_AddedModifiedDeleted_Classified()
    {
        var from = SnapshotManifest.Create([Entry("src/keep.ts", "k"), Entry("src/edit.ts", "1"), Entry("src/gone.ts", "g")]);
        var to = SnapshotManifest.Create([Entry("src/keep.ts", "k"), Entry("src/edit.ts", "2"), Entry("src/new.ts", "n")]);

        var diff = TreeDiff.Compute(from, to);

        Assert.Equal(["src/new.ts"], diff.Added.Select(e => e.Path));
        Assert.Equal(["src/edit.ts"], diff.Modified.Select(e => e.Path));
        Assert.Equal(["src/gone.ts"], diff.Deleted);
        Assert.Equal(new SnapshotChanges(1, 1, 1), SnapshotChanges.From(diff));
    }

    [Fact]
    public void Compute_SameTree_Empty()
    {
        var tree = SnapshotManifest.Create([Entry("src/a.ts", "a")]);

        Assert.True(TreeDiff.Compute(tree, tree).IsEmpty);
    }

    [Fact]
    public void ApplyTo_OtherBase_RebasesChange()
    {
        var parent = SnapshotManifest.Create([Entry("src/a.ts", "a"), Entry("src/b.ts", "b")]);
        var mine = SnapshotManifest.Create([Entry("src/a.ts", "a2"), Entry("src/mine.ts", "m")]);
        var theirs = SnapshotManifest.Create([Entry("src/a.ts", "a"), Entry("src/b.ts", "b"), Entry("src/theirs.ts", "t")]);

        var rebased = TreeDiff.Compute(parent, mine).ApplyTo(theirs);

        Assert.Equal(["src/a.ts", "src/mine.ts", "src/theirs.ts"], rebased.Entries.Select(e => e.Path));
        Assert.Equal(Entry("src/a.ts", "a2"), rebased.Find("src/a.ts"));
    }
}
