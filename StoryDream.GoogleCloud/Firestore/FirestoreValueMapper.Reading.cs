using System.Buffers;
using System.Globalization;
using System.Text.Json;

namespace StoryDream.GoogleCloud.Firestore;

/// <summary>Reading: Firestore's typed JSON rewritten as plain JSON, then deserialized.</summary>
internal sealed partial class FirestoreValueMapper
{
    /// <summary>Reads a document object; the reader is on its start and ends on its end.</summary>
    public FirestoreDocument<T> ReadDocument<T>(ref Utf8JsonReader reader, ArrayBufferWriter<byte> scratch, Utf8JsonWriter scratchWriter)
    {
        Expect(ref reader, JsonTokenType.StartObject);
        string? name = null;
        DateTimeOffset createTime = default, updateTime = default;
        var hasFields = false;
        while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
        {
            if (reader.ValueTextEquals("name"u8))
            {
                reader.Read();
                name = reader.GetString();
            }
            else if (reader.ValueTextEquals("fields"u8))
            {
                reader.Read();
                scratch.ResetWrittenCount();
                scratchWriter.Reset(scratch);
                ConvertMapFields(ref reader, scratchWriter);
                scratchWriter.Flush();
                hasFields = true;
            }
            else if (reader.ValueTextEquals("createTime"u8))
            {
                reader.Read();
                createTime = ReadTimestamp(ref reader);
            }
            else if (reader.ValueTextEquals("updateTime"u8))
            {
                reader.Read();
                updateTime = ReadTimestamp(ref reader);
            }
            else
            {
                reader.Read();
                reader.Skip();
            }
        }
        if (name is null)
        {
            throw new JsonException("Firestore returned a document without a name.");
        }
        var path = RelativePath(name);
        T? data;
        try
        {
            data = JsonSerializer.Deserialize<T>(hasFields ? scratch.WrittenSpan : "{}"u8, SerializerOptions);
        }
        catch (JsonException e)
        {
            throw new JsonException($"Document '{path}' cannot be read as {typeof(T)}: {e.Message}", e);
        }
        return new FirestoreDocument<T>(path, data!, createTime, updateTime);
    }

    public static DateTimeOffset ReadTimestamp(ref Utf8JsonReader reader)
    {
        if (reader.TokenType == JsonTokenType.String && reader.TryGetDateTimeOffset(out var value))
        {
            return value;
        }
        var text = reader.TokenType == JsonTokenType.String ? reader.GetString()! : "";
        // Firestore may give nanoseconds; .NET parses at most seven fractional digits (100 ns ticks).
        var dot = text.IndexOf('.', StringComparison.Ordinal);
        if (dot > 0)
        {
            var end = dot + 1;
            while (end < text.Length && char.IsAsciiDigit(text[end]))
            {
                end++;
            }
            if (end - dot - 1 > 7)
            {
                text = string.Concat(text.AsSpan(0, dot + 8), text.AsSpan(end));
            }
        }
        return DateTimeOffset.TryParse(text, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal, out value)
            ? value
            : throw new JsonException($"'{text}' is not an RFC 3339 timestamp.");
    }

    /// <summary>Rewrites a <c>Value</c> as plain JSON; the reader is on its start object and ends on its end object.</summary>
    private void ConvertValue(ref Utf8JsonReader reader, Utf8JsonWriter writer)
    {
        Expect(ref reader, JsonTokenType.StartObject);
        reader.Read();
        if (reader.TokenType != JsonTokenType.PropertyName)
        {
            throw new JsonException("Firestore returned a value with no type.");
        }
        if (reader.ValueTextEquals("stringValue"u8) || reader.ValueTextEquals("timestampValue"u8) || reader.ValueTextEquals("bytesValue"u8))
        {
            reader.Read();
            CopyString(ref reader, writer);
        }
        else if (reader.ValueTextEquals("integerValue"u8))
        {
            reader.Read();
            writer.WriteNumberValue(reader.TokenType == JsonTokenType.String ? long.Parse(reader.GetString()!, CultureInfo.InvariantCulture) : reader.GetInt64());
        }
        else if (reader.ValueTextEquals("doubleValue"u8))
        {
            reader.Read();
            if (reader.TokenType == JsonTokenType.Number)
            {
                writer.WriteRawValue(reader.ValueSpan, skipInputValidation: true);
            }
            else
            {
                // NaN and the infinities come as strings; the serializer options accept them so.
                CopyString(ref reader, writer);
            }
        }
        else if (reader.ValueTextEquals("booleanValue"u8))
        {
            reader.Read();
            writer.WriteBooleanValue(reader.GetBoolean());
        }
        else if (reader.ValueTextEquals("nullValue"u8))
        {
            reader.Read();
            writer.WriteNullValue();
        }
        else if (reader.ValueTextEquals("mapValue"u8))
        {
            reader.Read();
            Expect(ref reader, JsonTokenType.StartObject);
            var empty = true;
            while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
            {
                var isFields = reader.ValueTextEquals("fields"u8);
                reader.Read();
                if (isFields)
                {
                    ConvertMapFields(ref reader, writer);
                    empty = false;
                }
                else
                {
                    reader.Skip();
                }
            }
            if (empty)
            {
                writer.WriteStartObject();
                writer.WriteEndObject();
            }
        }
        else if (reader.ValueTextEquals("arrayValue"u8))
        {
            reader.Read();
            Expect(ref reader, JsonTokenType.StartObject);
            writer.WriteStartArray();
            while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
            {
                var isValues = reader.ValueTextEquals("values"u8);
                reader.Read();
                if (!isValues)
                {
                    reader.Skip();
                    continue;
                }
                Expect(ref reader, JsonTokenType.StartArray);
                while (reader.Read() && reader.TokenType != JsonTokenType.EndArray)
                {
                    ConvertValue(ref reader, writer);
                }
            }
            writer.WriteEndArray();
        }
        else if (reader.ValueTextEquals("referenceValue"u8))
        {
            reader.Read();
            writer.WriteStringValue(RelativePath(reader.GetString()!));
        }
        else if (reader.ValueTextEquals("geoPointValue"u8))
        {
            reader.Read();
            using var point = JsonDocument.ParseValue(ref reader);
            point.RootElement.WriteTo(writer);
        }
        else
        {
            throw new JsonException($"Firestore returned a value of unknown type '{reader.GetString()}'.");
        }
        reader.Read();
        Expect(ref reader, JsonTokenType.EndObject);
    }

    /// <summary>Rewrites a <c>fields</c> object (name to <c>Value</c>) as a plain JSON object.</summary>
    private void ConvertMapFields(ref Utf8JsonReader reader, Utf8JsonWriter writer)
    {
        Expect(ref reader, JsonTokenType.StartObject);
        writer.WriteStartObject();
        while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
        {
            if (reader.ValueIsEscaped)
            {
                writer.WritePropertyName(reader.GetString()!);
            }
            else
            {
                writer.WritePropertyName(reader.ValueSpan);
            }
            reader.Read();
            ConvertValue(ref reader, writer);
        }
        writer.WriteEndObject();
    }

    private static void CopyString(ref Utf8JsonReader reader, Utf8JsonWriter writer)
    {
        Expect(ref reader, JsonTokenType.String);
        if (reader.ValueIsEscaped)
        {
            writer.WriteStringValue(reader.GetString());
        }
        else
        {
            writer.WriteStringValue(reader.ValueSpan);
        }
    }

    private static void Expect(ref Utf8JsonReader reader, JsonTokenType type)
    {
        if (reader.TokenType != type)
        {
            throw new JsonException($"Unexpected {reader.TokenType} in Firestore's answer where {type} belongs.");
        }
    }
}
