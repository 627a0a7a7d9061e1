using System.Collections;
using System.Globalization;
using System.Text.Json;
using System.Text.Json.Serialization;
using System.Text.Json.Serialization.Metadata;

namespace StoryDream.GoogleCloud.Firestore;

/// <summary>
/// Maps C# values to Firestore's typed JSON (<c>{"stringValue": "x"}</c>...) and back, through System.Text.Json's
/// contracts: properties are camelCase unless <c>[JsonPropertyName]</c> says otherwise, <c>[JsonIgnore]</c> and
/// constructors work as usual, enums are strings.
/// </summary>
/// <remarks>
/// Writing walks the object through its <see cref="JsonTypeInfo"/>, so timestamps, bytes, integers and doubles keep
/// their Firestore types (plain JSON would turn the first two into strings and lose the last distinction). Reading
/// needs no such care: Firestore's JSON says what each value is, so it is rewritten as plain JSON in one pass and
/// handed to <see cref="JsonSerializer"/>, which then owns constructors, nullability and conversions. Nullable
/// annotations hold both ways: a null where a property is not nullable fails the write or the read. A field missing
/// from a document reads as the property's default, so records can gain fields.
/// </remarks>
internal sealed partial class FirestoreValueMapper(string documentsName)
{
    /// <summary>Firestore nests maps and arrays at most 20 deep; the bound also stops reference cycles.</summary>
    private const int MaxDepth = 20;

    private readonly string _referencePrefix = documentsName + "/";

    public static JsonSerializerOptions SerializerOptions { get; } = CreateSerializerOptions();

    /// <summary>Writes <paramref name="data"/> as a document's <c>fields</c> object; it must be map-like (a record, class or dictionary).</summary>
    public void WriteFields(Utf8JsonWriter writer, object data)
    {
        writer.WriteStartObject();
        if (!TryWriteMapEntries(writer, data, depth: 1))
        {
            throw new ArgumentException($"A document's data must be an object or a dictionary, not {data.GetType()}.", nameof(data));
        }
        writer.WriteEndObject();
    }

    /// <summary>Writes one Firestore <c>Value</c> object.</summary>
    public void WriteValue(Utf8JsonWriter writer, object? value) => WriteValue(writer, value, depth: 0);

    public string ReferenceName(FirestoreReference reference) => _referencePrefix + reference.Path;

    /// <summary>The document path relative to the database of a full resource name from Firestore.</summary>
    public string RelativePath(string name) =>
        name.StartsWith(_referencePrefix, StringComparison.Ordinal)
            ? name[_referencePrefix.Length..]
            : throw new JsonException($"Firestore returned '{name}', which is not a document of {_referencePrefix.TrimEnd('/')}.");

    public static void WriteTimestamp(Utf8JsonWriter writer, string propertyName, DateTimeOffset value)
    {
        Span<byte> buffer = stackalloc byte[40];
        value.UtcDateTime.TryFormat(buffer, out var written, "O", CultureInfo.InvariantCulture);
        writer.WriteString(propertyName, buffer[..written]);
    }

    private void WriteValue(Utf8JsonWriter writer, object? value, int depth)
    {
        if (depth > MaxDepth)
        {
            throw new ArgumentException($"The value nests maps and arrays deeper than Firestore's limit of {MaxDepth} (or refers to itself).");
        }
        writer.WriteStartObject();
        switch (value)
        {
            case null:
                writer.WriteNull("nullValue");
                break;
            case string s:
                writer.WriteString("stringValue", s);
                break;
            case bool b:
                writer.WriteBoolean("booleanValue", b);
                break;
            case int i:
                WriteInteger(writer, i);
                break;
            case long l:
                WriteInteger(writer, l);
                break;
            case short or sbyte or byte or ushort or uint:
                WriteInteger(writer, Convert.ToInt64(value, CultureInfo.InvariantCulture));
                break;
            case ulong u:
                WriteInteger(writer, u <= long.MaxValue ? (long)u : throw new ArgumentException($"{u} does not fit Firestore's 64-bit signed integers."));
                break;
            case double d:
                WriteDouble(writer, d);
                break;
            case float f:
                WriteDouble(writer, f);
                break;
            case decimal m:
                WriteDouble(writer, (double)m);
                break;
            case DateTimeOffset t:
                WriteTimestamp(writer, "timestampValue", t);
                break;
            case DateTime t:
                WriteTimestamp(writer, "timestampValue", ToUtc(t));
                break;
            case byte[] bytes:
                writer.WriteBase64String("bytesValue", bytes);
                break;
            case ReadOnlyMemory<byte> memory:
                writer.WriteBase64String("bytesValue", memory.Span);
                break;
            case Memory<byte> memory:
                writer.WriteBase64String("bytesValue", memory.Span);
                break;
            case FirestoreReference reference:
                writer.WriteString("referenceValue", ReferenceName(reference));
                break;
            case Guid g:
                writer.WriteString("stringValue", g.ToString("D"));
                break;
            case char c:
                writer.WriteString("stringValue", c.ToString());
                break;
            case JsonElement element:
                WriteElementBody(writer, element, depth);
                break;
            default:
                WriteComposite(writer, value, depth);
                break;
        }
        writer.WriteEndObject();
    }

    private void WriteComposite(Utf8JsonWriter writer, object value, int depth)
    {
        var kind = SerializerOptions.GetTypeInfo(value.GetType()).Kind;
        if (value is IDictionary || kind == JsonTypeInfoKind.Object)
        {
            writer.WriteStartObject("mapValue");
            writer.WriteStartObject("fields");
            TryWriteMapEntries(writer, value, depth + 1);
            writer.WriteEndObject();
            writer.WriteEndObject();
            return;
        }
        if (kind == JsonTypeInfoKind.Enumerable && value is IEnumerable items)
        {
            writer.WriteStartObject("arrayValue");
            writer.WriteStartArray("values");
            foreach (var item in items)
            {
                WriteValue(writer, item, depth + 1);
            }
            writer.WriteEndArray();
            writer.WriteEndObject();
            return;
        }
        // Enums, DateOnly, TimeSpan, Uri, types with their own converters: take what System.Text.Json writes for them.
        WriteElementBody(writer, JsonSerializer.SerializeToElement(value, value.GetType(), SerializerOptions), depth);
    }

    private bool TryWriteMapEntries(Utf8JsonWriter writer, object value, int depth)
    {
        if (value is IDictionary dictionary)
        {
            foreach (DictionaryEntry entry in dictionary)
            {
                writer.WritePropertyName(MapKey(entry.Key));
                WriteValue(writer, entry.Value, depth);
            }
            return true;
        }
        if (value is JsonElement element)
        {
            if (element.ValueKind != JsonValueKind.Object)
            {
                return false;
            }
            foreach (var property in element.EnumerateObject())
            {
                writer.WritePropertyName(property.Name);
                WriteElement(writer, property.Value, depth);
            }
            return true;
        }
        var info = SerializerOptions.GetTypeInfo(value.GetType());
        switch (info.Kind)
        {
            case JsonTypeInfoKind.Object:
                foreach (var property in info.Properties)
                {
                    if (property.Get is null)
                    {
                        continue;
                    }
                    var propertyValue = property.Get(value);
                    if (property.ShouldSerialize is { } shouldSerialize && !shouldSerialize(value, propertyValue))
                    {
                        continue;
                    }
                    if (propertyValue is null && !property.IsGetNullable)
                    {
                        throw new ArgumentException($"Field '{property.Name}' of {info.Type} is null but not declared nullable.");
                    }
                    if (property.IsExtensionData)
                    {
                        if (propertyValue is not null)
                        {
                            TryWriteMapEntries(writer, propertyValue, depth);
                        }
                        continue;
                    }
                    writer.WritePropertyName(property.Name);
                    WriteValue(writer, propertyValue, depth);
                }
                return true;
            case JsonTypeInfoKind.Dictionary:
                // A dictionary type that is not an IDictionary (a custom IReadOnlyDictionary): its JSON is a map too.
                return TryWriteMapEntries(writer, JsonSerializer.SerializeToElement(value, value.GetType(), SerializerOptions), depth);
            default:
                return false;
        }
    }

    private void WriteElement(Utf8JsonWriter writer, JsonElement element, int depth)
    {
        if (depth > MaxDepth)
        {
            throw new ArgumentException($"The value nests maps and arrays deeper than Firestore's limit of {MaxDepth}.");
        }
        writer.WriteStartObject();
        WriteElementBody(writer, element, depth);
        writer.WriteEndObject();
    }

    private void WriteElementBody(Utf8JsonWriter writer, JsonElement element, int depth)
    {
        switch (element.ValueKind)
        {
            case JsonValueKind.Object:
                writer.WriteStartObject("mapValue");
                writer.WriteStartObject("fields");
                foreach (var property in element.EnumerateObject())
                {
                    writer.WritePropertyName(property.Name);
                    WriteElement(writer, property.Value, depth + 1);
                }
                writer.WriteEndObject();
                writer.WriteEndObject();
                break;
            case JsonValueKind.Array:
                writer.WriteStartObject("arrayValue");
                writer.WriteStartArray("values");
                foreach (var item in element.EnumerateArray())
                {
                    WriteElement(writer, item, depth + 1);
                }
                writer.WriteEndArray();
                writer.WriteEndObject();
                break;
            case JsonValueKind.String:
                writer.WriteString("stringValue", element.GetString());
                break;
            case JsonValueKind.Number when element.TryGetInt64(out var integer):
                WriteInteger(writer, integer);
                break;
            case JsonValueKind.Number:
                WriteDouble(writer, element.GetDouble());
                break;
            case JsonValueKind.True or JsonValueKind.False:
                writer.WriteBoolean("booleanValue", element.GetBoolean());
                break;
            default:
                writer.WriteNull("nullValue");
                break;
        }
    }

    private static void WriteInteger(Utf8JsonWriter writer, long value)
    {
        // proto3 JSON carries 64-bit integers as strings.
        Span<byte> buffer = stackalloc byte[20];
        value.TryFormat(buffer, out var written, default, CultureInfo.InvariantCulture);
        writer.WriteString("integerValue", buffer[..written]);
    }

    private static void WriteDouble(Utf8JsonWriter writer, double value)
    {
        if (double.IsFinite(value))
        {
            writer.WriteNumber("doubleValue", value);
        }
        else
        {
            writer.WriteString("doubleValue", double.IsNaN(value) ? "NaN" : value > 0 ? "Infinity" : "-Infinity");
        }
    }

    private static DateTimeOffset ToUtc(DateTime value) => value.Kind switch
    {
        DateTimeKind.Local => new DateTimeOffset(value.ToUniversalTime()),
        // Unspecified is taken as UTC: the platform stores UTC and a local reading would depend on the machine.
        _ => new DateTimeOffset(DateTime.SpecifyKind(value, DateTimeKind.Utc)),
    };

    private static string MapKey(object key) => key switch
    {
        string s => s,
        Enum => JsonSerializer.SerializeToElement(key, key.GetType(), SerializerOptions).ToString(),
        IFormattable formattable => formattable.ToString(null, CultureInfo.InvariantCulture),
        _ => key.ToString() ?? throw new ArgumentException("A map key turned into null."),
    };

    private static JsonSerializerOptions CreateSerializerOptions()
    {
        var options = new JsonSerializerOptions(JsonSerializerDefaults.Web)
        {
            NumberHandling = JsonNumberHandling.AllowReadingFromString | JsonNumberHandling.AllowNamedFloatingPointLiterals,
            // A null stored where the record says non-nullable fails on read (and on write), not later as a NullReferenceException.
            RespectNullableAnnotations = true,
            Converters = { new JsonStringEnumConverter(JsonNamingPolicy.CamelCase, allowIntegerValues: false) },
        };
        options.MakeReadOnly(populateMissingResolver: true);
        return options;
    }
}
