using System.Buffers.Binary;
using System.Runtime.InteropServices;
using ArmCrc32 = System.Runtime.Intrinsics.Arm.Crc32;
using X86Sse42 = System.Runtime.Intrinsics.X86.Sse42;

namespace GoogleCloudBench.HandWritten;

/// <summary>
/// CRC-32C (Castagnoli), the checksum Cloud Storage keeps for every object. System.IO.Hashing only ships
/// the IEEE polynomial, so this uses the CPU's CRC32C instruction (SSE 4.2, ARMv8) and a table elsewhere.
/// </summary>
internal sealed class Crc32C
{
    private const uint Polynomial = 0x82F63B78; // reflected 0x1EDC6F41
    private static readonly uint[] Table = BuildTable();

    private uint _state = ~0u;

    public uint Value => ~_state;

    public void Append(ReadOnlySpan<byte> data) => _state = Update(_state, data);

    public static uint Compute(ReadOnlySpan<byte> data) => ~Update(~0u, data);

    /// <summary>The checksum as Cloud Storage writes it: base64 of the big-endian 4 bytes.</summary>
    public static string ToBase64(uint crc)
    {
        Span<byte> bytes = stackalloc byte[4];
        BinaryPrimitives.WriteUInt32BigEndian(bytes, crc);
        return Convert.ToBase64String(bytes);
    }

    public static bool TryParseBase64(string? value, out uint crc)
    {
        Span<byte> bytes = stackalloc byte[4];
        if (value is not null && Convert.TryFromBase64String(value, bytes, out var written) && written == 4)
        {
            crc = BinaryPrimitives.ReadUInt32BigEndian(bytes);
            return true;
        }
        crc = 0;
        return false;
    }

    internal static uint Update(uint state, ReadOnlySpan<byte> data)
    {
        if (X86Sse42.X64.IsSupported)
        {
            var words = MemoryMarshal.Cast<byte, ulong>(data);
            ulong wide = state;
            foreach (var word in words)
            {
                wide = X86Sse42.X64.Crc32(wide, BitConverter.IsLittleEndian ? word : BinaryPrimitives.ReverseEndianness(word));
            }
            state = (uint)wide;
            foreach (var b in data[(words.Length * sizeof(ulong))..])
            {
                state = X86Sse42.Crc32(state, b);
            }
            return state;
        }
        if (ArmCrc32.Arm64.IsSupported)
        {
            var words = MemoryMarshal.Cast<byte, ulong>(data);
            foreach (var word in words)
            {
                state = ArmCrc32.Arm64.ComputeCrc32C(state, BitConverter.IsLittleEndian ? word : BinaryPrimitives.ReverseEndianness(word));
            }
            foreach (var b in data[(words.Length * sizeof(ulong))..])
            {
                state = ArmCrc32.ComputeCrc32C(state, b);
            }
            return state;
        }
        return UpdateSoftware(state, data);
    }

    internal static uint UpdateSoftware(uint state, ReadOnlySpan<byte> data)
    {
        foreach (var b in data)
        {
            state = Table[(byte)(state ^ b)] ^ (state >> 8);
        }
        return state;
    }

    private static uint[] BuildTable()
    {
        var table = new uint[256];
        for (uint i = 0; i < 256; i++)
        {
            var entry = i;
            for (var bit = 0; bit < 8; bit++)
            {
                entry = (entry & 1) != 0 ? (entry >> 1) ^ Polynomial : entry >> 1;
            }
            table[i] = entry;
        }
        return table;
    }
}
