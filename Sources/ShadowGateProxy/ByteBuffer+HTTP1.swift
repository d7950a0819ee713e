import NIOCore

/// What the gateway's two HTTP/1 writers share: requests to upstreams (``UpstreamRequest``) and
/// answers to clients (``ClientResponseEncoding``).
enum HTTP1Message {
    /// Bodies up to this size are copied behind the head, so a message is one buffer and one `write`;
    /// larger ones are written as a second buffer (the same `writev`) instead of being copied.
    static let copiedBodyLimit = 16 * 1024
}

extension ByteBuffer {
    /// Writes one header line, `name: value\r\n`, as given (names and values were validated where they came in).
    mutating func writeHeaderLine(_ name: String, _ value: String) {
        writeString(name)
        writeStaticString(": ")
        writeString(value)
        writeStaticString("\r\n")
    }
}

extension UnsafeRawBufferPointer {
    /// ASCII case-insensitive equality with a lowercase literal.
    func equalsLowercaseASCII(_ lower: StaticString) -> Bool {
        guard count == lower.utf8CodeUnitCount else { return false }
        let expected = lower.utf8Start
        for i in 0..<count {
            let byte = self[i]
            let lowered = byte >= UInt8(ascii: "A") && byte <= UInt8(ascii: "Z") ? byte | 0x20 : byte
            if lowered != expected[i] { return false }
        }
        return true
    }
}
