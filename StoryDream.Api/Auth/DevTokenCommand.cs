namespace StoryDream.Api.Auth;

/// <summary>
/// <c>dotnet run --project StoryDream.Api -- mint-dev-token --user alice [--email a@example.com] [--name Alice] [--hours 12]</c>
/// prints a bearer token signed with <c>Auth:SigningKey</c> (from the environment, <c>Auth__SigningKey</c>, or appsettings).
/// </summary>
internal static class DevTokenCommand
{
    public const string Name = "mint-dev-token";

    public static int Run(IConfiguration configuration, IReadOnlyList<string> args, TextWriter output, TextWriter error)
    {
        var auth = new AuthOptions();
        configuration.GetSection(AuthOptions.SectionName).Bind(auth);
        if (string.IsNullOrWhiteSpace(auth.SigningKey) || string.IsNullOrWhiteSpace(auth.Issuer) || string.IsNullOrWhiteSpace(auth.Audience))
        {
            error.WriteLine("Auth__SigningKey, Auth__Issuer and Auth__Audience must be set (the app host prints them with its dev token).");
            return 2;
        }
        string? Option(string name) => args.SkipWhile(a => a != name).Skip(1).FirstOrDefault();
        var user = Option("--user");
        if (string.IsNullOrEmpty(user) || UserIds.Problem(user) is not null)
        {
            error.WriteLine($"usage: {Name} --user USER_ID [--email EMAIL] [--name NAME] [--hours HOURS]");
            return 2;
        }
        var hours = double.TryParse(Option("--hours"), System.Globalization.CultureInfo.InvariantCulture, out var h) && h > 0 ? h : 12;
        output.WriteLine(DevTokens.Mint(auth.SigningKey, auth.Issuer, auth.Audience, user, Option("--email"), Option("--name") ?? user, TimeSpan.FromHours(hours)));
        return 0;
    }
}
