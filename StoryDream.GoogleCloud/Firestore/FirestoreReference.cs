using System.Text.Json;
using System.Text.Json.Serialization;

namespace StoryDream.GoogleCloud.Firestore;

/// <summary>
/// A reference to a document of the same database (Firestore's <c>referenceValue</c>), held as its path relative to
/// the database. In plain JSON it is that path as a string.
/// </summary>
[JsonConverter(typeof(FirestoreReferenceJsonConverter))]
public sealed record FirestoreReference
{
    public FirestoreReference(string path)
    {
        Path = ResourcePath.Document(path, nameof(path));
    }

    public string Path { get; }

    public string Id => Path[(Path.LastIndexOf('/') + 1)..];

    public override string ToString() => Path;
}

internal sealed class FirestoreReferenceJsonConverter : JsonConverter<FirestoreReference>
{
    public override FirestoreReference? Read(ref Utf8JsonReader reader, Type typeToConvert, JsonSerializerOptions options) =>
        reader.TokenType == JsonTokenType.String
            ? new FirestoreReference(reader.GetString()!)
            : throw new JsonException($"A document reference must be a string path, not {reader.TokenType}.");

    public override void Write(Utf8JsonWriter writer, FirestoreReference value, JsonSerializerOptions options)
    {
        ArgumentNullException.ThrowIfNull(writer);
        ArgumentNullException.ThrowIfNull(value);
        writer.WriteStringValue(value.Path);
    }
}
