using System.Text;
using StoryDream.Api.Messages;

namespace StoryDream.Api.Chat;

/// <summary>
/// A turn's assistant text and actions, kept within <see cref="ChatOptions"/>' limits as they arrive, so what is relayed
/// and what is stored are the same and the stored message always fits one Firestore document: a delta over
/// <see cref="ChatOptions.MaxDeltaBytes"/> is cut on a UTF-8 boundary and marked; text past
/// <see cref="ChatOptions.TurnBudgetBytes"/> is dropped and the turn is over its budget; actions past
/// <see cref="ChatOptions.MaxActions"/> are dropped, and each action's texts are cut to <see cref="ChatOptions.MaxActionTextBytes"/>.
/// </summary>
internal sealed class TurnContent(ChatOptions options)
{
    public const string ClipMarker = " […clipped]";
    private readonly StringBuilder _text = new();
    private readonly List<MessageAction> _actions = [];
    private int _bytes;

    public bool OverBudget { get; private set; }

    public string Text => _text.ToString();

    public IReadOnlyList<MessageAction> Actions => _actions;

    /// <summary>The part of the delta to relay, already added to the text; empty once the budget is spent.</summary>
    public string AddDelta(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        if (OverBudget) { return ""; }
        var kept = Utf8Prefix(text, options.MaxDeltaBytes, out var clipped);
        if (clipped) { kept += ClipMarker; }
        var fits = Utf8Prefix(kept, options.TurnBudgetBytes - _bytes, out var overBudget);
        OverBudget = overBudget;
        _bytes += Encoding.UTF8.GetByteCount(fits);
        _text.Append(fits);
        return fits;
    }

    /// <summary>The action as stored and relayed, or null when the turn has as many as it may keep or is over its budget.</summary>
    public MessageAction? AddAction(MessageAction action)
    {
        ArgumentNullException.ThrowIfNull(action);
        if (OverBudget || _actions.Count >= options.MaxActions) { return null; }
        var kept = Clip(action);
        _actions.Add(kept);
        return kept;
    }

    /// <summary>The actions the agent reported at the end of its turn, within the same limits, in place of the relayed ones.</summary>
    public IReadOnlyList<MessageAction> Reported(IEnumerable<MessageAction> actions) => [.. actions.Take(options.MaxActions).Select(Clip)];

    /// <summary>Text cut to at most <paramref name="maxBytes"/> UTF-8 bytes, never inside a character.</summary>
    public static string Clip(string text, int maxBytes) => Utf8Prefix(text, maxBytes, out _);

    private MessageAction Clip(MessageAction action) => action with
    {
        FilePath = action.FilePath is { } path ? Clip(path, options.MaxActionTextBytes) : null,
        Summary = action.Summary is { } summary ? Clip(summary, options.MaxActionTextBytes) : null,
    };

    private static string Utf8Prefix(string text, int maxBytes, out bool clipped)
    {
        clipped = false;
        // At most three UTF-8 bytes per UTF-16 unit (a surrogate pair is four bytes for two), so most texts need no count.
        if ((long)text.Length * 3 <= maxBytes || Encoding.UTF8.GetByteCount(text) <= maxBytes) { return text; }
        clipped = true;
        var bytes = 0;
        var index = 0;
        // A lone surrogate decodes as U+FFFD, three bytes, as the encoder writes it.
        while (index < text.Length)
        {
            Rune.DecodeFromUtf16(text.AsSpan(index), out var rune, out var consumed);
            if (bytes + rune.Utf8SequenceLength > maxBytes) { break; }
            bytes += rune.Utf8SequenceLength;
            index += consumed;
        }
        return text[..index];
    }
}
