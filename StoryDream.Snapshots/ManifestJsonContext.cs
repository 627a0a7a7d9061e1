using System.Text.Json.Serialization;

namespace StoryDream.Snapshots;

[JsonSourceGenerationOptions(PropertyNamingPolicy = JsonKnownNamingPolicy.CamelCase)]
[JsonSerializable(typeof(List<ManifestEntry>))]
internal sealed partial class ManifestJsonContext : JsonSerializerContext;
