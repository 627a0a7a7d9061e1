using System.Text.Json;
using Microsoft.AspNetCore.Diagnostics;
using Microsoft.AspNetCore.Mvc;

namespace StoryDream.Api.Http;

/// <summary>
/// Turns request errors the framework throws (unreadable JSON, a missing body, a wrong content type) into problem
/// details; a JSON error names the field by its JSON path. Anything else is left to the default 500 problem.
/// </summary>
internal sealed class ApiExceptionHandler(IProblemDetailsService problems) : IExceptionHandler
{
    public async ValueTask<bool> TryHandleAsync(HttpContext httpContext, Exception exception, CancellationToken cancellationToken)
    {
        if (exception is not BadHttpRequestException bad) { return false; }

        ProblemDetails details;
        if (bad.InnerException is JsonException json)
        {
            var field = FieldName(json.Path);
            details = new HttpValidationProblemDetails(new Dictionary<string, string[]> { [field] = [JsonMessage(json)] })
            {
                Status = StatusCodes.Status400BadRequest,
                Type = ProblemTypes.Validation,
                Title = "Validation failed",
                Detail = "The request body is not valid JSON for this operation; see errors.",
            };
        }
        else
        {
            details = new ProblemDetails
            {
                Status = bad.StatusCode,
                Type = ProblemTypes.ForStatus(bad.StatusCode),
                Title = bad.StatusCode == StatusCodes.Status413PayloadTooLarge ? "Request body too large" : "Bad request",
                Detail = bad.Message,
            };
        }
        httpContext.Response.StatusCode = details.Status ?? StatusCodes.Status400BadRequest;
        return await problems.TryWriteAsync(new ProblemDetailsContext { HttpContext = httpContext, ProblemDetails = details, Exception = exception });
    }

    /// <summary><c>$.videoSettings.width</c> becomes <c>videoSettings.width</c>; the root becomes <c>body</c>.</summary>
    private static string FieldName(string? path)
    {
        if (string.IsNullOrEmpty(path) || path == "$") { return "body"; }
        return path.StartsWith("$.", StringComparison.Ordinal) ? path[2..] : path.TrimStart('$');
    }

    private static string JsonMessage(JsonException json) =>
        json.Path is null or "$" ? "The body is not a valid JSON object." : $"The value at {json.Path} has the wrong type or is malformed.";
}
