using Microsoft.AspNetCore.Http.HttpResults;

namespace StoryDream.Api.Http;

/// <summary>The problem results handlers return, each with its stable type.</summary>
internal static class ApiProblems
{
    public static ProblemHttpResult NotFound(string detail) =>
        TypedResults.Problem(detail, statusCode: StatusCodes.Status404NotFound, title: "Not found", type: ProblemTypes.NotFound);

    public static ProblemHttpResult PreconditionFailed(string detail) =>
        TypedResults.Problem(detail, statusCode: StatusCodes.Status412PreconditionFailed, title: "Precondition failed", type: ProblemTypes.PreconditionFailed);

    public static ProblemHttpResult Conflict(string detail) =>
        TypedResults.Problem(detail, statusCode: StatusCodes.Status409Conflict, title: "Conflict", type: ProblemTypes.Conflict);

    /// <summary>A per-user quota reached: <paramref name="limit"/> is the setting's name, with its value and the current use.</summary>
    public static ProblemHttpResult QuotaExceeded(string detail, string limit, long max, long used) =>
        TypedResults.Problem(detail, statusCode: StatusCodes.Status403Forbidden, title: "Quota reached", type: ProblemTypes.QuotaExceeded,
            extensions: new Dictionary<string, object?> { ["limit"] = limit, ["max"] = max, ["used"] = used });

    public static ValidationProblem Validation(IDictionary<string, string[]> errors) =>
        TypedResults.ValidationProblem(errors, "One or more fields are invalid; see errors.", title: "Validation failed", type: ProblemTypes.Validation);

    public static ValidationProblem Validation(string field, string message) =>
        Validation(new Dictionary<string, string[]> { [field] = [message] });
}
