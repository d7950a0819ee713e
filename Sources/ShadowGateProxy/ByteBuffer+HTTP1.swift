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
        writeJoined(name, ": ", value, "\r\n")
    }

    /// Writes `a`, `separator`, `b` and `terminator` in one write: each ByteBuffer write pays a
    /// uniqueness and an exclusivity check, and a message is made of many short pieces.
    mutating func writeJoined(_ a: String, _ separator: StaticString, _ b: String, _ terminator: StaticString) {
        let written: Void?? = a.utf8.withContiguousStorageIfAvailable { a in
            b.utf8.withContiguousStorageIfAvailable { b in
                let count = a.count + separator.utf8CodeUnitCount + b.count + terminator.utf8CodeUnitCount
                writeWithUnsafeMutableBytes(minimumWritableBytes: count) { out in
                    var at = out.baseAddress!
                    func put(_ start: UnsafeRawPointer?, _ length: Int) {
                        guard let start, length > 0 else { return }
                        at.copyMemory(from: start, byteCount: length)
                        at += length
                    }
                    put(a.baseAddress, a.count)
                    put(separator.utf8Start, separator.utf8CodeUnitCount)
                    put(b.baseAddress, b.count)
                    put(terminator.utf8Start, terminator.utf8CodeUnitCount)
                    return count
                }
            }
        }
        if written == nil || written! == nil {
            // Not stored as contiguous UTF-8 (a bridged string): piece by piece.
            writeString(a)
            writeStaticString(separator)
            writeString(b)
            writeStaticString(terminator)
        }
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
