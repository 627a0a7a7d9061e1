using Microsoft.AspNetCore.Authentication;
using Microsoft.AspNetCore.Authentication.JwtBearer;
using Microsoft.Extensions.Options;
using Microsoft.IdentityModel.Tokens;
using StoryDream.Api.Chat;

namespace StoryDream.Api.Auth;

internal static class AuthSetup
{
    /// <summary>
    /// Bearer JWTs (issuer, audience and keys from <see cref="AuthOptions"/>) or <c>X-Api-Key</c>. Every <c>/api</c>
    /// group requires one of them; health and the OpenAPI document stay anonymous.
    /// </summary>
    public static IHostApplicationBuilder AddApiAuth(this IHostApplicationBuilder builder)
    {
        builder.Services.AddOptions<AuthOptions>()
            .BindConfiguration(AuthOptions.SectionName)
            .ValidateDataAnnotations()
            .ValidateOnStart();

        builder.Services.AddAuthentication(AuthSchemes.Default)
            .AddPolicyScheme(AuthSchemes.Default, "Bearer token or API key", policy =>
                policy.ForwardDefaultSelector = context =>
                    context.Request.Headers.ContainsKey(AuthSchemes.ApiKeyHeader) ? AuthSchemes.ApiKey
                    : ChatTickets.Carries(context.Request) ? AuthSchemes.ChatTicket
                    : AuthSchemes.Bearer)
            .AddJwtBearer(AuthSchemes.Bearer)
            .AddScheme<AuthenticationSchemeOptions, ApiKeyAuthenticationHandler>(AuthSchemes.ApiKey, null)
            .AddScheme<AuthenticationSchemeOptions, ChatTicketAuthenticationHandler>(AuthSchemes.ChatTicket, null);

        builder.Services.AddOptions<JwtBearerOptions>(AuthSchemes.Bearer)
            .Configure<IOptions<AuthOptions>>((jwt, auth) => ConfigureJwt(jwt, auth.Value));

        builder.Services.AddAuthorizationBuilder()
            .AddPolicy(AuthSchemes.SignedInPolicy, policy => policy
                .AddAuthenticationSchemes(AuthSchemes.Bearer)
                .RequireAuthenticatedUser());
        return builder;
    }

    private static void ConfigureJwt(JwtBearerOptions jwt, AuthOptions auth)
    {
        // Claims keep their JWT names (sub, email, name) instead of being renamed to WS-Federation URIs.
        jwt.MapInboundClaims = false;
        var parameters = jwt.TokenValidationParameters;
        parameters.NameClaimType = ApiClaims.Subject;
        parameters.ValidateIssuer = true;
        parameters.ValidIssuer = string.IsNullOrWhiteSpace(auth.Issuer) ? auth.Authority : auth.Issuer;
        parameters.ValidateAudience = true;
        parameters.ValidAudience = auth.Audience;
        parameters.ValidateLifetime = true;
        parameters.RequireExpirationTime = true;
        parameters.RequireSignedTokens = true;
        parameters.ClockSkew = auth.ClockSkew;

        if (auth.SigningKeyBytes() is { } key)
        {
            parameters.IssuerSigningKey = new SymmetricSecurityKey(key);
            // Only HS256 with this key: no "none", no algorithm confusion with a public key.
            parameters.ValidAlgorithms = [SecurityAlgorithms.HmacSha256];
        }
        else
        {
            jwt.Authority = auth.Authority;
            parameters.ValidAlgorithms = [SecurityAlgorithms.RsaSha256, SecurityAlgorithms.EcdsaSha256];
        }

        jwt.Events = new JwtBearerEvents
        {
            OnTokenValidated = context =>
            {
                if (UserIds.Problem(context.Principal?.FindFirst(ApiClaims.Subject)?.Value) is { } problem)
                {
                    context.Fail($"The token's subject is not usable: {problem}");
                }
                return Task.CompletedTask;
            },
        };
    }
}
