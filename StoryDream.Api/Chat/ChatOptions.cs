using System.ComponentModel.DataAnnotations;

namespace StoryDream.Api.Chat;

internal sealed class ChatOptions : IValidatableObject
{
    public const string SectionName = "Chat";

    // Firestore's limit on one document; a message's text and actions must fit it with the rest of the message.
    public const int FirestoreMaxDocumentBytes = 1_048_576;

    // Room for a message's other fields (role, status, times, source, the document's name) and, per action, for its
    // type, snapshot id and field names, counted as Firestore does (strings and names are their UTF-8 bytes plus one).
    private const int MessageOverheadBytes = 16 * 1024;
    private const int ActionOverheadBytes = 128;

    /// <summary>The most UTF-8 bytes of one agent text delta; a longer one is cut there and marked before it is relayed or stored.</summary>
    [Range(1_024, 1_048_576)]
    public int MaxDeltaBytes { get; set; } = 16 * 1024;

    /// <summary>The most UTF-8 bytes of assistant text one turn relays and stores; past it the agent is stopped and the turn fails.</summary>
    [Range(1_024, FirestoreMaxDocumentBytes)]
    public int TurnBudgetBytes { get; set; } = 512 * 1024;

    /// <summary>The most actions one assistant message keeps; later ones are neither relayed nor stored (the sync still saves their files).</summary>
    [Range(0, 10_000)]
    public int MaxActions { get; set; } = 200;

    /// <summary>The most UTF-8 bytes of each text of an action (its path, its summary), relayed and stored.</summary>
    [Range(64, 65_536)]
    public int MaxActionTextBytes { get; set; } = 1_024;

    /// <summary>The largest a stored assistant message can be under these limits, counted as Firestore counts a document.</summary>
    public long MaxMessageBytes => MessageOverheadBytes + (long)TurnBudgetBytes + (long)MaxActions * (ActionOverheadBytes + 2L * MaxActionTextBytes);

    /// <summary>The longest an agent turn may run before it is ended as failed; the turn lock is held that long at most.</summary>
    [Range(typeof(TimeSpan), "00:00:10", "02:00:00")]
    public TimeSpan TurnTimeout { get; set; } = TimeSpan.FromMinutes(15);

    /// <summary>How long the agent has to end its turn after a <c>cancel</c> before the API ends it.</summary>
    [Range(typeof(TimeSpan), "00:00:01", "00:05:00")]
    public TimeSpan CancelGrace { get; set; } = TimeSpan.FromSeconds(10);

    /// <summary>Key for the conversation summary model (configuration <c>ANTHROPIC_API_KEY</c> when unset); without one the summary is extractive.</summary>
    public string? AnthropicApiKey { get; set; }

    [Required]
    public Uri AnthropicBaseUrl { get; set; } = new("https://api.anthropic.com/");

    [Required]
    public string SummaryModel { get; set; } = "claude-haiku-4-5";

    public IEnumerable<ValidationResult> Validate(ValidationContext validationContext)
    {
        if (MaxMessageBytes > FirestoreMaxDocumentBytes)
        {
            yield return new ValidationResult(
                $"Chat:TurnBudgetBytes + Chat:MaxActions x (2 x Chat:MaxActionTextBytes + {ActionOverheadBytes}) + {MessageOverheadBytes} must fit Firestore's " +
                $"{FirestoreMaxDocumentBytes}-byte document; these settings allow {MaxMessageBytes} bytes.",
                [nameof(TurnBudgetBytes), nameof(MaxActions), nameof(MaxActionTextBytes)]);
        }
    }
}
