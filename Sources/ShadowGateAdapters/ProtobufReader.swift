/// Reads the protobuf wire format field by field: enough to pick a few fields out of a message
/// without generated code.
///
/// Never traps on hostile input: a truncated varint, a length past the end or an unknown wire
/// type stops the reading with `isMalformed` set.
struct ProtobufReader {
    enum Value {
        case varint(UInt64)
        case fixed64(UInt64)
        case fixed32(UInt32)
        /// A byte range of the buffer (bytes, strings, sub-messages, packed repeated fields).
        case bytes(Range<Int>)
    }

    let buffer: UnsafeRawBufferPointer
    private(set) var position: Int
    let end: Int
    private(set) var isMalformed = false

    init(_ buffer: UnsafeRawBufferPointer, range: Range<Int>? = nil) {
        self.buffer = buffer
        self.position = range?.lowerBound ?? 0
        self.end = range?.upperBound ?? buffer.count
    }

    var isAtEnd: Bool { position >= end }

    /// The next field, or nil at the end (or when the rest is malformed).
    mutating func next() -> (field: UInt64, value: Value)? {
        guard position < end, !isMalformed else { return nil }
        guard let key = readVarint() else { return fail() }
        let field = key >> 3
        switch key & 7 {
        case 0:
            guard let v = readVarint() else { return fail() }
            return (field, .varint(v))
        case 1:
            guard end - position >= 8 else { return fail() }
            let v = readLittleEndian(UInt64.self, at: position)
            position += 8
            return (field, .fixed64(v))
        case 2:
            guard let length = readVarint(), length <= UInt64(end - position) else { return fail() }
            let range = position..<(position + Int(length))
            position = range.upperBound
            return (field, .bytes(range))
        case 5:
            guard end - position >= 4 else { return fail() }
            let v = readLittleEndian(UInt32.self, at: position)
            position += 4
            return (field, .fixed32(v))
        default:
            return fail()
        }
    }

    mutating func readVarint() -> UInt64? {
        var result: UInt64 = 0
        var shift: UInt64 = 0
        while position < end, shift < 64 {
            let byte = buffer[position]
            position += 1
            result |= UInt64(byte & 0x7f) << shift
            if byte & 0x80 == 0 { return result }
            shift += 7
        }
        return nil
    }

    func readLittleEndian<T: FixedWidthInteger>(_: T.Type, at offset: Int) -> T {
        var value: T = 0
        for i in 0..<MemoryLayout<T>.size {
            value |= T(truncatingIfNeeded: buffer[offset + i]) << (8 * i)
        }
        return value
    }

    func string(_ range: Range<Int>) -> String {
        String(decoding: UnsafeRawBufferPointer(rebasing: buffer[range]), as: UTF8.self)
    }

    private mutating func fail() -> (field: UInt64, value: Value)? {
        isMalformed = true
        return nil
    }
}
