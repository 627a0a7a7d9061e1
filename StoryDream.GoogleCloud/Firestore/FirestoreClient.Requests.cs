using System.Text.Json;

namespace StoryDream.GoogleCloud.Firestore;

/// <summary>The JSON bodies of commit and runQuery requests.</summary>
public sealed partial class FirestoreClient
{
    private void WriteWrite(Utf8JsonWriter writer, Write write)
    {
        writer.WriteStartObject();
        var name = $"{_documentsName}/{write.Path}";
        if (write.Operation == WriteOperation.Delete)
        {
            writer.WriteString("delete", name);
        }
        else
        {
            writer.WriteStartObject("update");
            writer.WriteString("name", name);
            writer.WritePropertyName("fields");
            Mapper.WriteFields(writer, write.Data!);
            writer.WriteEndObject();
            if (write.Mask is not null)
            {
                writer.WriteStartObject("updateMask");
                writer.WriteStartArray("fieldPaths");
                foreach (var fieldPath in write.Mask)
                {
                    writer.WriteStringValue(fieldPath);
                }
                writer.WriteEndArray();
                writer.WriteEndObject();
            }
        }
        if (write.Transforms.Count > 0)
        {
            writer.WriteStartArray("updateTransforms");
            foreach (var transform in write.Transforms)
            {
                WriteTransform(writer, transform);
            }
            writer.WriteEndArray();
        }
        if (write.Precondition is { } precondition)
        {
            writer.WriteStartObject("currentDocument");
            if (precondition.Exists is { } exists)
            {
                writer.WriteBoolean("exists", exists);
            }
            else if (precondition.UpdateTime is { } updateTime)
            {
                FirestoreValueMapper.WriteTimestamp(writer, "updateTime", updateTime);
            }
            writer.WriteEndObject();
        }
        writer.WriteEndObject();
    }

    private void WriteTransform(Utf8JsonWriter writer, FieldTransform transform)
    {
        writer.WriteStartObject();
        writer.WriteString("fieldPath", transform.FieldPath);
        switch (transform.Kind)
        {
            case FieldTransformKind.ServerTimestamp:
                writer.WriteString("setToServerValue", "REQUEST_TIME");
                break;
            case FieldTransformKind.Increment:
                writer.WritePropertyName("increment");
                Mapper.WriteValue(writer, transform.Operand);
                break;
            case FieldTransformKind.ArrayUnion or FieldTransformKind.ArrayRemove:
                writer.WriteStartObject(transform.Kind == FieldTransformKind.ArrayUnion ? "appendMissingElements" : "removeAllFromArray");
                writer.WriteStartArray("values");
                foreach (var element in (object?[])transform.Operand!)
                {
                    Mapper.WriteValue(writer, element);
                }
                writer.WriteEndArray();
                writer.WriteEndObject();
                break;
            default:
                throw new InvalidOperationException($"Unknown field transform {transform.Kind}.");
        }
        writer.WriteEndObject();
    }

    private void WriteQuery(Utf8JsonWriter writer, StructuredQuery query)
    {
        writer.WriteStartObject("structuredQuery");

        writer.WriteStartArray("from");
        writer.WriteStartObject();
        writer.WriteString("collectionId", query.CollectionId);
        if (query.AllDescendants)
        {
            writer.WriteBoolean("allDescendants", true);
        }
        writer.WriteEndObject();
        writer.WriteEndArray();

        if (query.Filters.Length == 1)
        {
            writer.WritePropertyName("where");
            WriteFilter(writer, query.Filters[0]);
        }
        else if (query.Filters.Length > 1)
        {
            writer.WriteStartObject("where");
            writer.WriteStartObject("compositeFilter");
            writer.WriteString("op", "AND");
            writer.WriteStartArray("filters");
            foreach (var filter in query.Filters)
            {
                WriteFilter(writer, filter);
            }
            writer.WriteEndArray();
            writer.WriteEndObject();
            writer.WriteEndObject();
        }

        if (query.Orders.Length > 0)
        {
            writer.WriteStartArray("orderBy");
            foreach (var order in query.Orders)
            {
                writer.WriteStartObject();
                WriteFieldReference(writer, "field", order.FieldPath);
                writer.WriteString("direction", order.Descending ? "DESCENDING" : "ASCENDING");
                writer.WriteEndObject();
            }
            writer.WriteEndArray();
        }

        if (query.Start is { } start)
        {
            WriteCursor(writer, "startAt", start);
        }
        if (query.End is { } end)
        {
            WriteCursor(writer, "endAt", end);
        }
        if (query.OffsetValue is { } offset)
        {
            writer.WriteNumber("offset", offset);
        }
        if (query.LimitValue is { } limit)
        {
            writer.WriteNumber("limit", limit);
        }

        writer.WriteEndObject();
    }

    private void WriteFilter(Utf8JsonWriter writer, QueryFilter filter)
    {
        writer.WriteStartObject();
        if (filter.Unary is { } unary)
        {
            writer.WriteStartObject("unaryFilter");
            writer.WriteString("op", unary);
            WriteFieldReference(writer, "field", filter.FieldPath);
        }
        else
        {
            writer.WriteStartObject("fieldFilter");
            WriteFieldReference(writer, "field", filter.FieldPath);
            writer.WriteString("op", filter.WireOperator);
            writer.WritePropertyName("value");
            Mapper.WriteValue(writer, filter.Value);
        }
        writer.WriteEndObject();
        writer.WriteEndObject();
    }

    private void WriteCursor(Utf8JsonWriter writer, string propertyName, QueryCursor cursor)
    {
        writer.WriteStartObject(propertyName);
        writer.WriteStartArray("values");
        foreach (var value in cursor.Values)
        {
            Mapper.WriteValue(writer, value);
        }
        writer.WriteEndArray();
        writer.WriteBoolean("before", cursor.Before);
        writer.WriteEndObject();
    }

    private static void WriteFieldReference(Utf8JsonWriter writer, string propertyName, string fieldPath)
    {
        writer.WriteStartObject(propertyName);
        writer.WriteString("fieldPath", fieldPath);
        writer.WriteEndObject();
    }
}
