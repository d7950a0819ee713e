import NIOCore
import NIOHTTP1

/// A `{"error": "..."}` answer produced by the gateway itself (never by an upstream).
struct JSONErrorResponse {
    var status: HTTPResponseStatus
    var message: String

    func body(allocator: ByteBufferAllocator) -> ByteBuffer {
        var buffer = allocator.buffer(capacity: message.utf8.count + 16)
        buffer.writeStaticString("{\"error\":")
        buffer.writeJSONString(message)
        buffer.writeStaticString("}\n")
        return buffer
    }
}

extension ByteBuffer {
    /// Writes `text` as a JSON string literal, escaping what JSON requires.
    mutating func writeJSONString(_ text: String) {
        writeInteger(UInt8(ascii: "\""))
        for byte in text.utf8 {
            switch byte {
            case UInt8(ascii: "\""): writeStaticString("\\\"")
            case UInt8(ascii: "\\"): writeStaticString("\\\\")
            case UInt8(ascii: "\n"): writeStaticString("\\n")
            case UInt8(ascii: "\r"): writeStaticString("\\r")
            case UInt8(ascii: "\t"): writeStaticString("\\t")
            case 0..<0x20:
                let hex: [UInt8] = Array("0123456789abcdef".utf8)
                writeStaticString("\\u00")
                writeInteger(hex[Int(byte >> 4)])
                writeInteger(hex[Int(byte & 0xf)])
            default: writeInteger(byte)
            }
        }
        writeInteger(UInt8(ascii: "\""))
    }
}
