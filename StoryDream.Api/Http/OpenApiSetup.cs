using Microsoft.OpenApi;
using Scalar.AspNetCore;
using StoryDream.Api.Auth;

namespace StoryDream.Api.Http;

internal static class OpenApiSetup
{
    private const string BearerScheme = "Bearer";
    private const string ApiKeyScheme = "ApiKey";

    /// <summary>The OpenAPI document at <c>/openapi/v1.json</c>, declaring both ways to authenticate.</summary>
    public static IHostApplicationBuilder AddApiOpenApi(this IHostApplicationBuilder builder)
    {
        builder.Services.AddOpenApi(options => options.AddDocumentTransformer((document, _, _) =>
        {
            document.Info.Title = "StoryDream API";
            document.Components ??= new OpenApiComponents();
            document.Components.SecuritySchemes = new Dictionary<string, IOpenApiSecurityScheme>
            {
                [BearerScheme] = new OpenApiSecurityScheme
                {
                    Type = SecuritySchemeType.Http,
                    Scheme = "bearer",
                    BearerFormat = "JWT",
                    Description = "An ID token of the configured OIDC provider (a dev token locally).",
                },
                [ApiKeyScheme] = new OpenApiSecurityScheme
                {
                    Type = SecuritySchemeType.ApiKey,
                    In = ParameterLocation.Header,
                    Name = AuthSchemes.ApiKeyHeader,
                    Description = "A key from POST /api/keys.",
                },
            };
            document.Security =
            [
                new OpenApiSecurityRequirement { [new OpenApiSecuritySchemeReference(BearerScheme, document)] = [] },
                new OpenApiSecurityRequirement { [new OpenApiSecuritySchemeReference(ApiKeyScheme, document)] = [] },
            ];
            return Task.CompletedTask;
        }));
        return builder;
    }

    /// <summary>The document always (clients are generated from it); the Scalar reference UI in development only.</summary>
    public static WebApplication MapApiDocs(this WebApplication app)
    {
        app.MapOpenApi();
        if (app.Environment.IsDevelopment())
        {
            app.MapScalarApiReference();
        }
        return app;
    }
}
