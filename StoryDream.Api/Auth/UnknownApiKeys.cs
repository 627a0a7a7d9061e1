using System.Collections.Concurrent;

namespace StoryDream.Api.Auth;

/// <summary>
/// Client ids that named no API key, remembered for a while so that random keys do not cost a Firestore read each.
/// Client ids are random GUIDs chosen when a key is created, so an id found unknown does not become a key later; a key
/// revoked meanwhile stays revoked. Bounded: when full it forgets everything, so a flood of random ids costs at most
/// what it cost before.
/// </summary>
internal sealed class UnknownApiKeys(TimeProvider time)
{
    private const int Capacity = 10_000;
    private static readonly TimeSpan Lifetime = TimeSpan.FromMinutes(5);
    private readonly ConcurrentDictionary<string, DateTimeOffset> _until = new(StringComparer.Ordinal);

    public bool Contains(string clientId)
    {
        if (!_until.TryGetValue(clientId, out var until)) { return false; }
        if (time.GetUtcNow() < until) { return true; }
        _until.TryRemove(new KeyValuePair<string, DateTimeOffset>(clientId, until));
        return false;
    }

    public void Add(string clientId)
    {
        if (_until.Count >= Capacity) { _until.Clear(); }
        _until[clientId] = time.GetUtcNow() + Lifetime;
    }
}
