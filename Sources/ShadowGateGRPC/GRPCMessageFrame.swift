import NIOCore

/// The gRPC length-prefixed message framing: 1 byte compressed flag, 4 bytes big-endian length,
/// then the message.
enum GRPCMessageFrame {
    enum Problem: Error, Equatable {
        case truncated
        case tooLarge(Int)
    }

    /// The messages in a complete unary body, or why it is not well formed.
    static func messages(in body: ByteBuffer, maxMessageBytes: Int) -> Result<[(compressed: Bool, message: ByteBuffer)], Problem> {
        var body = body
        var out: [(Bool, ByteBuffer)] = []
        while body.readableBytes > 0 {
            guard let flag = body.readInteger(as: UInt8.self), let length = body.readInteger(endianness: .big, as: UInt32.self) else {
                return .failure(.truncated)
            }
            guard Int(length) <= maxMessageBytes else { return .failure(.tooLarge(Int(length))) }
            guard let message = body.readSlice(length: Int(length)) else { return .failure(.truncated) }
            out.append((flag != 0, message))
        }
        return .success(out)
    }
}
