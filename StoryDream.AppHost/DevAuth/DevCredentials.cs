using System.Buffers.Text;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;

namespace StoryDream.AppHost.DevAuth;

/// <summary>
/// The dev signing keys: an HMAC-SHA256 key for the API's bearer tokens and one for preview tokens, made on the
/// first run in <c>.dev/</c> (gitignored) and reused after, so tokens printed yesterday still work today.
/// </summary>
internal sealed class DevCredentials
{
    public const string Issuer = "storydream-dev";
    public const string Audience = "storydream-api";
    public const string UserId = "dev-user";
    public const string UserEmail = "dev@storydream.localhost";
    public const string UserName = "Dev User";
    public const string SigningKeyFile = "auth-signing-key";
    public const string PreviewTokenKeyFile = "preview-token-key";
    public const string TokenFile = "dev-token";
    private const int KeyBytes = 32;

    private DevCredentials(string directory, string signingKey, string previewTokenKey)
    {
        Directory = directory;
        SigningKey = signingKey;
        PreviewTokenKey = previewTokenKey;
    }

    public string Directory { get; }

    /// <summary>Base64 of 32 random bytes (<c>Auth__SigningKey</c>).</summary>
    public string SigningKey { get; }

    /// <summary>Base64 of 32 random bytes (<c>Sessions__PreviewTokenKey</c>).</summary>
    public string PreviewTokenKey { get; }

    public static DevCredentials LoadOrCreate(string directory)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(directory);
        System.IO.Directory.CreateDirectory(directory);
        if (!OperatingSystem.IsWindows())
        {
            File.SetUnixFileMode(directory, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
        }
        return new DevCredentials(directory, LoadOrCreateKey(Path.Combine(directory, SigningKeyFile)), LoadOrCreateKey(Path.Combine(directory, PreviewTokenKeyFile)));
    }

    /// <summary>An HS256 JWT for the dev user, as the API's JWT bearer validation expects it.</summary>
    public string MintToken(DateTimeOffset now, TimeSpan lifetime)
    {
        var header = new Dictionary<string, object> { ["alg"] = "HS256", ["typ"] = "JWT" };
        var payload = new Dictionary<string, object>
        {
            ["sub"] = UserId,
            ["email"] = UserEmail,
            ["name"] = UserName,
            ["iss"] = Issuer,
            ["aud"] = Audience,
            ["iat"] = now.ToUnixTimeSeconds(),
            ["nbf"] = now.ToUnixTimeSeconds(),
            ["exp"] = now.Add(lifetime).ToUnixTimeSeconds(),
        };
        var signed = $"{Encode(JsonSerializer.SerializeToUtf8Bytes(header))}.{Encode(JsonSerializer.SerializeToUtf8Bytes(payload))}";
        var signature = HMACSHA256.HashData(Convert.FromBase64String(SigningKey), Encoding.ASCII.GetBytes(signed));
        return $"{signed}.{Encode(signature)}";
    }

    /// <summary>Saves the token beside the keys so scripts can read it (<c>TOKEN=$(cat .dev/dev-token)</c>).</summary>
    public void SaveToken(string token) => WriteSecret(Path.Combine(Directory, TokenFile), token, createNew: false);

    private static string LoadOrCreateKey(string path)
    {
        if (!File.Exists(path))
        {
            try
            {
                WriteSecret(path, Convert.ToBase64String(RandomNumberGenerator.GetBytes(KeyBytes)), createNew: true);
            }
            catch (IOException) when (File.Exists(path))
            {
                // Another app host made it first; use theirs.
            }
        }

        var text = File.ReadAllText(path).Trim();
        var bytes = new byte[KeyBytes + 1];
        if (!Convert.TryFromBase64String(text, bytes, out var length) || length != KeyBytes)
        {
            throw new InvalidOperationException($"{path} does not hold the base64 of a {KeyBytes}-byte key. Delete it and the app host makes a new one (tokens signed with the old one stop working).");
        }
        return text;
    }

    private static void WriteSecret(string path, string value, bool createNew)
    {
        var options = new FileStreamOptions { Mode = createNew ? FileMode.CreateNew : FileMode.Create, Access = FileAccess.Write };
        if (!OperatingSystem.IsWindows())
        {
            options.UnixCreateMode = UnixFileMode.UserRead | UnixFileMode.UserWrite;
        }
        using var stream = new FileStream(path, options);
        stream.Write(Encoding.ASCII.GetBytes(value + "\n"));
    }

    private static string Encode(ReadOnlySpan<byte> bytes) => Base64Url.EncodeToString(bytes);
}

/// <summary>Loads the dev credentials on first use, so <c>publish</c> never makes keys it has no use for.</summary>
internal sealed class DevCredentialsSource(string directory)
{
    private readonly Lazy<DevCredentials> _credentials = new(() => DevCredentials.LoadOrCreate(directory));

    public DevCredentials Value => _credentials.Value;
}
