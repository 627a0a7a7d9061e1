using System.Buffers.Binary;
using System.Numerics;

namespace StoryDream.GoogleCloud.Storage;

/// <summary>
/// CRC-32C (Castagnoli), the checksum Cloud Storage keeps for every object, computed with the CPU's instruction
/// (<see cref="BitOperations.Crc32C(uint, ulong)"/>): about 20 times faster than the library's table-driven one,
/// which costs about 5 ms per MiB here.
/// </summary>
internal struct Crc32C
{
    private uint _state;

    public Crc32C() => _state = uint.MaxValue;

    public void Append(ReadOnlySpan<byte> data)
    {
        var state = _state;
        while (data.Length >= sizeof(ulong))
        {
            state = BitOperations.Crc32C(state, BinaryPrimitives.ReadUInt64LittleEndian(data));
            data = data[sizeof(ulong)..];
        }
        foreach (var b in data) { state = BitOperations.Crc32C(state, b); }
        _state = state;
    }

    /// <summary>The checksum as Cloud Storage writes it (<c>x-goog-hash: crc32c=…</c>, an object's <c>crc32c</c>): base64 of its big-endian bytes.</summary>
    public readonly string ToBase64()
    {
        Span<byte> bytes = stackalloc byte[sizeof(uint)];
        BinaryPrimitives.WriteUInt32BigEndian(bytes, ~_state);
        return Convert.ToBase64String(bytes);
    }

    public static string Base64Of(ReadOnlySpan<byte> data)
    {
        var crc = new Crc32C();
        crc.Append(data);
        return crc.ToBase64();
    }
}
