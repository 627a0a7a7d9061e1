using System.Security.Claims;
using Microsoft.IdentityModel.JsonWebTokens;
using Microsoft.IdentityModel.Tokens;

namespace StoryDream.Api.Auth;

/// <summary>
/// HS256 tokens signed with the development key (<c>Auth:SigningKey</c>), the same shape an OIDC provider issues:
/// <c>sub</c>, <c>email</c>, <c>name</c>. The app host prints one at start; a person mints more with
/// <c>dotnet run --project StoryDream.Api -- mint-dev-token --user alice</c>.
/// </summary>
public static class DevTokens
{
    public static string Mint(string base64SigningKey, string issuer, string audience, string userId,
        string? email = null, string? name = null, TimeSpan? lifetime = null, DateTimeOffset? now = null)
    {
        ArgumentException.ThrowIfNullOrEmpty(base64SigningKey);
        ArgumentException.ThrowIfNullOrEmpty(issuer);
        ArgumentException.ThrowIfNullOrEmpty(audience);
        if (UserIds.Problem(userId) is { } problem) { throw new ArgumentException(problem, nameof(userId)); }

        var issuedAt = (now ?? DateTimeOffset.UtcNow).UtcDateTime;
        var claims = new List<Claim> { new(JwtRegisteredClaimNames.Sub, userId) };
        if (!string.IsNullOrEmpty(email)) { claims.Add(new(JwtRegisteredClaimNames.Email, email)); }
        if (!string.IsNullOrEmpty(name)) { claims.Add(new(JwtRegisteredClaimNames.Name, name)); }

        var descriptor = new SecurityTokenDescriptor
        {
            Issuer = issuer,
            Audience = audience,
            Subject = new ClaimsIdentity(claims),
            IssuedAt = issuedAt,
            NotBefore = issuedAt,
            Expires = issuedAt + (lifetime ?? TimeSpan.FromHours(12)),
            SigningCredentials = new SigningCredentials(
                new SymmetricSecurityKey(Convert.FromBase64String(base64SigningKey)), SecurityAlgorithms.HmacSha256),
        };
        return new JsonWebTokenHandler { SetDefaultTimesOnTokenCreation = false }.CreateToken(descriptor);
    }

    /// <summary>A fresh random key in the form <c>Auth:SigningKey</c> takes.</summary>
    public static string NewSigningKey() =>
        Convert.ToBase64String(System.Security.Cryptography.RandomNumberGenerator.GetBytes(AuthOptions.MinimumSigningKeyBytes));
}
