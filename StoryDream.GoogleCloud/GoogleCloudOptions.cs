using System.ComponentModel.DataAnnotations;

namespace StoryDream.GoogleCloud;

/// <summary>
/// Where the Firestore and Cloud Storage clients point. With an emulator host set, that client talks to the
/// emulator with <c>Authorization: Bearer owner</c> and never loads Google credentials.
/// </summary>
public sealed class GoogleCloudOptions
{
    public const string SectionName = "GoogleCloud";

    /// <summary>Google Cloud project id; with the emulators any id works (one per test isolates data).</summary>
    [Required]
    public string ProjectId { get; set; } = "storydream-dev";

    /// <summary>Firestore database id.</summary>
    [Required]
    public string DatabaseId { get; set; } = "(default)";

    /// <summary><c>host:port</c> of the Firestore emulator; bound from <c>FIRESTORE_EMULATOR_HOST</c> by default.</summary>
    public string? FirestoreEmulatorHost { get; set; }

    /// <summary><c>host:port</c> or URL of the Storage emulator; bound from <c>STORAGE_EMULATOR_HOST</c> by default.</summary>
    public string? StorageEmulatorHost { get; set; }
}
