using System.ComponentModel.DataAnnotations;

namespace StoryDream.Api.Auth;

/// <summary>
/// Who may sign the bearer tokens the API accepts. Production names an OIDC <see cref="Authority"/> (Firebase Auth:
/// <c>https://securetoken.google.com/PROJECT</c> with the project id as audience) whose keys are discovered; local
/// development and tests give a base64 HMAC <see cref="SigningKey"/> the app host generates (see <see cref="DevTokens"/>).
/// </summary>
internal sealed class AuthOptions : IValidatableObject
{
    public const string SectionName = "Auth";
    public const int MinimumSigningKeyBytes = 32;

    /// <summary>Expected <c>iss</c>; defaults to <see cref="Authority"/> when only that is set.</summary>
    public string? Issuer { get; set; }

    [Required]
    public string Audience { get; set; } = "";

    /// <summary>Base64 HMAC-SHA256 key (at least 32 bytes) for HS256 tokens; development only.</summary>
    public string? SigningKey { get; set; }

    /// <summary>OIDC issuer URL whose discovery document gives the signing keys.</summary>
    public string? Authority { get; set; }

    /// <summary>
    /// Lets <c>POST /api/auth/dev-token</c> mint tokens with <see cref="SigningKey"/> for anyone who asks (the studio's
    /// "Continue as dev user"). Only the local app host sets it; it needs a signing key.
    /// </summary>
    public bool DevSignIn { get; set; }

    /// <summary>Tolerance for clock drift when checking <c>exp</c> and <c>nbf</c>.</summary>
    public TimeSpan ClockSkew { get; set; } = TimeSpan.FromMinutes(1);

    public byte[]? SigningKeyBytes() => string.IsNullOrWhiteSpace(SigningKey) ? null : Convert.FromBase64String(SigningKey);

    public IEnumerable<ValidationResult> Validate(ValidationContext validationContext)
    {
        if (string.IsNullOrWhiteSpace(SigningKey) && string.IsNullOrWhiteSpace(Authority))
        {
            yield return new ValidationResult(
                "Set Auth:Authority (an OIDC issuer such as https://securetoken.google.com/PROJECT) or Auth:SigningKey (a base64 key, development only).",
                [nameof(Authority), nameof(SigningKey)]);
        }
        if (!string.IsNullOrWhiteSpace(SigningKey))
        {
            byte[]? key = null;
            try { key = Convert.FromBase64String(SigningKey); }
            catch (FormatException) { }
            if (key is null || key.Length < MinimumSigningKeyBytes)
            {
                yield return new ValidationResult($"Auth:SigningKey must be base64 of at least {MinimumSigningKeyBytes} bytes.", [nameof(SigningKey)]);
            }
            if (string.IsNullOrWhiteSpace(Issuer))
            {
                yield return new ValidationResult("Auth:Issuer is required with Auth:SigningKey.", [nameof(Issuer)]);
            }
        }
        if (DevSignIn && string.IsNullOrWhiteSpace(SigningKey))
        {
            yield return new ValidationResult("Auth:DevSignIn needs Auth:SigningKey: development sign-in mints HS256 tokens with it.", [nameof(DevSignIn)]);
        }
        if (!string.IsNullOrWhiteSpace(Authority) && !Uri.TryCreate(Authority, UriKind.Absolute, out _))
        {
            yield return new ValidationResult("Auth:Authority must be an absolute URL.", [nameof(Authority)]);
        }
        if (ClockSkew < TimeSpan.Zero || ClockSkew > TimeSpan.FromMinutes(5))
        {
            yield return new ValidationResult("Auth:ClockSkew must be between 0 and 5 minutes.", [nameof(ClockSkew)]);
        }
    }
}
