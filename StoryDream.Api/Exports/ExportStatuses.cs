namespace StoryDream.Api.Exports;

/// <summary>An export's <c>status</c> (DESIGN section 10).</summary>
internal static class ExportStatuses
{
    public const string Queued = "queued";
    public const string Rendering = "rendering";
    public const string Uploading = "uploading";
    public const string Complete = "complete";
    public const string Failed = "failed";
    public const string Canceled = "canceled";

    public static bool IsFinal(string status) => status is Complete or Failed or Canceled;
}
