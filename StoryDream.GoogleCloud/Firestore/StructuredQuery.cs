using System.Collections;
using System.Collections.Immutable;

namespace StoryDream.GoogleCloud.Firestore;

public enum QueryOperator
{
    Equal,
    NotEqual,
    LessThan,
    LessThanOrEqual,
    GreaterThan,
    GreaterThanOrEqual,
    ArrayContains,
    ArrayContainsAny,
    In,
    NotIn,
}

/// <summary>
/// A Firestore query over one collection (or a collection group), built fluently; each call returns a new query,
/// so a base query can be shared. Filters are combined with AND. <c>Where(field, Equal, null)</c> and
/// <c>Where(field, Equal, double.NaN)</c> become Firestore's IS_NULL / IS_NAN (NotEqual their negations).
/// </summary>
public sealed record StructuredQuery
{
    /// <summary>The pseudo-field of the document's own name, for <see cref="OrderBy"/> and cursors (values are <see cref="FirestoreReference"/>s).</summary>
    public const string DocumentId = FieldPath.DocumentId;

    private StructuredQuery(string? parent, string collectionId, bool allDescendants)
    {
        Parent = parent;
        CollectionId = collectionId;
        AllDescendants = allDescendants;
    }

    /// <summary>The document the query runs under, or <c>null</c> for the database root.</summary>
    internal string? Parent { get; }

    internal string CollectionId { get; }

    internal bool AllDescendants { get; }

    internal ImmutableArray<QueryFilter> Filters { get; private init; } = [];

    internal ImmutableArray<QueryOrder> Orders { get; private init; } = [];

    internal int? LimitValue { get; private init; }

    internal int? OffsetValue { get; private init; }

    internal QueryCursor? Start { get; private init; }

    internal QueryCursor? End { get; private init; }

    /// <summary>The documents of one collection, such as <c>projects</c> or <c>projects/abc/messages</c>.</summary>
    public static StructuredQuery Collection(string collectionPath)
    {
        var (parent, collectionId) = ResourcePath.SplitCollection(ResourcePath.Collection(collectionPath));
        return new(parent, collectionId, allDescendants: false);
    }

    /// <summary>The documents of every collection named <paramref name="collectionId"/> under <paramref name="parentDocumentPath"/> (or the whole database).</summary>
    public static StructuredQuery CollectionGroup(string collectionId, string? parentDocumentPath = null)
    {
        ArgumentException.ThrowIfNullOrEmpty(collectionId);
        if (collectionId.Contains('/', StringComparison.Ordinal))
        {
            throw new ArgumentException($"'{collectionId}' is a path; a collection group is named by a single collection id.", nameof(collectionId));
        }
        ResourcePath.Collection(collectionId, nameof(collectionId));
        return new(parentDocumentPath is null ? null : ResourcePath.Document(parentDocumentPath, nameof(parentDocumentPath)), collectionId, allDescendants: true);
    }

    public StructuredQuery Where(string fieldPath, QueryOperator op, object? value)
    {
        var field = FieldPath.Normalize(fieldPath, nameof(fieldPath));
        if (!Enum.IsDefined(op))
        {
            throw new ArgumentOutOfRangeException(nameof(op), op, "Unknown query operator.");
        }
        var unary = UnaryOperator(op, value);
        if (unary is null && value is null)
        {
            throw new ArgumentException($"Only Equal and NotEqual compare with null; {op} needs a value.", nameof(value));
        }
        if (op is QueryOperator.In or QueryOperator.NotIn or QueryOperator.ArrayContainsAny && (value is string || value is not IEnumerable))
        {
            throw new ArgumentException($"{op} needs a list of values.", nameof(value));
        }
        return this with { Filters = Filters.Add(new QueryFilter(field, op, unary, value)) };
    }

    public StructuredQuery OrderBy(string fieldPath) => AddOrder(fieldPath, descending: false);

    public StructuredQuery OrderByDescending(string fieldPath) => AddOrder(fieldPath, descending: true);

    public StructuredQuery Limit(int count)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(count);
        return this with { LimitValue = count };
    }

    public StructuredQuery Offset(int count)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(count);
        return this with { OffsetValue = count };
    }

    /// <summary>Starts at the position these values of the order-by fields give, that position included.</summary>
    public StructuredQuery StartAt(params object?[] values) => this with { Start = Cursor(values, before: true) };

    /// <summary>Starts just after the position these values of the order-by fields give.</summary>
    public StructuredQuery StartAfter(params object?[] values) => this with { Start = Cursor(values, before: false) };

    /// <summary>Ends at the position these values of the order-by fields give, that position included.</summary>
    public StructuredQuery EndAt(params object?[] values) => this with { End = Cursor(values, before: false) };

    /// <summary>Ends just before the position these values of the order-by fields give.</summary>
    public StructuredQuery EndBefore(params object?[] values) => this with { End = Cursor(values, before: true) };

    private StructuredQuery AddOrder(string fieldPath, bool descending) =>
        this with { Orders = Orders.Add(new QueryOrder(FieldPath.Normalize(fieldPath, nameof(fieldPath)), descending)) };

    private static QueryCursor Cursor(object?[] values, bool before)
    {
        ArgumentNullException.ThrowIfNull(values);
        if (values.Length == 0)
        {
            throw new ArgumentException("A cursor needs at least one value, one per order-by field.", nameof(values));
        }
        return new QueryCursor([.. values], before);
    }

    private static string? UnaryOperator(QueryOperator op, object? value) => (op, value) switch
    {
        (QueryOperator.Equal, null) => "IS_NULL",
        (QueryOperator.NotEqual, null) => "IS_NOT_NULL",
        (QueryOperator.Equal, double d) when double.IsNaN(d) => "IS_NAN",
        (QueryOperator.Equal, float f) when float.IsNaN(f) => "IS_NAN",
        (QueryOperator.NotEqual, double d) when double.IsNaN(d) => "IS_NOT_NAN",
        (QueryOperator.NotEqual, float f) when float.IsNaN(f) => "IS_NOT_NAN",
        _ => null,
    };
}

/// <summary>One field filter; <see cref="Unary"/> is set when it compares with null or NaN.</summary>
internal sealed record QueryFilter(string FieldPath, QueryOperator Operator, string? Unary, object? Value)
{
    public string WireOperator => Operator switch
    {
        QueryOperator.Equal => "EQUAL",
        QueryOperator.NotEqual => "NOT_EQUAL",
        QueryOperator.LessThan => "LESS_THAN",
        QueryOperator.LessThanOrEqual => "LESS_THAN_OR_EQUAL",
        QueryOperator.GreaterThan => "GREATER_THAN",
        QueryOperator.GreaterThanOrEqual => "GREATER_THAN_OR_EQUAL",
        QueryOperator.ArrayContains => "ARRAY_CONTAINS",
        QueryOperator.ArrayContainsAny => "ARRAY_CONTAINS_ANY",
        QueryOperator.In => "IN",
        QueryOperator.NotIn => "NOT_IN",
        _ => throw new ArgumentOutOfRangeException(nameof(Operator), Operator, null),
    };
}

internal sealed record QueryOrder(string FieldPath, bool Descending);

internal sealed record QueryCursor(ImmutableArray<object?> Values, bool Before);
