using System.Buffers.Binary;

namespace StoryDream.AppHost.Dashboard.Otlp;

/// <summary>
/// A minimal protobuf wire-format reader: enough for the OTLP messages the dashboard reads, without generated
/// code (no protoc or gRPC tooling here). Unknown fields are skipped; malformed input throws <see cref="FormatException"/>.
/// </summary>
internal ref struct ProtoReader(ReadOnlySpan<byte> data)
{
    private readonly ReadOnlySpan<byte> _data = data;
    private int _position;

    public int Field { get; private set; }

    public int WireType { get; private set; }

    /// <summary>Moves to the next field; false at the end of the message.</summary>
    public bool Next()
    {
        if (_position >= _data.Length) { return false; }
        var tag = ReadVarint();
        Field = (int)(tag >> 3);
        WireType = (int)(tag & 7);
        if (Field == 0) { throw new FormatException("Field number 0 is not valid protobuf."); }
        return true;
    }

    public ulong ReadVarint()
    {
        ulong result = 0;
        for (var shift = 0; shift < 64; shift += 7)
        {
            if (_position >= _data.Length) { throw new FormatException("Truncated varint."); }
            var b = _data[_position++];
            result |= (ulong)(b & 0x7F) << shift;
            if ((b & 0x80) == 0) { return result; }
        }
        throw new FormatException("Varint longer than 10 bytes.");
    }

    public ulong ReadFixed64()
    {
        Require(8);
        var value = BinaryPrimitives.ReadUInt64LittleEndian(_data.Slice(_position, 8));
        _position += 8;
        return value;
    }

    public ReadOnlySpan<byte> ReadBytes()
    {
        var length = ReadVarint();
        if (length > (ulong)(_data.Length - _position)) { throw new FormatException("Length-delimited field runs past the end."); }
        var slice = _data.Slice(_position, (int)length);
        _position += (int)length;
        return slice;
    }

    public string ReadString() => System.Text.Encoding.UTF8.GetString(ReadBytes());

    public void Skip()
    {
        switch (WireType)
        {
            case 0: ReadVarint(); break;
            case 1: Require(8); _position += 8; break;
            case 2: ReadBytes(); break;
            case 5: Require(4); _position += 4; break;
            default: throw new FormatException($"Unsupported wire type {WireType}.");
        }
    }

    private readonly void Require(int bytes)
    {
        if (_data.Length - _position < bytes) { throw new FormatException("Truncated fixed-width field."); }
    }
}
