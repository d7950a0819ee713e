import NIOCore
import NIOEmbedded
import NIOHTTP1
import ShadowGateProxy

extension FuzzTarget {
    static func request(_ bytes: UnsafeRawBufferPointer) {
        let ours = requests(bytes, decoder: ByteToMessageHandler(HTTP1RequestDecoder()))
        let nio = requests(bytes, decoder: ByteToMessageHandler(HTTPRequestDecoder(leftOverBytesStrategy: .dropBytes)))
        // Either may stop earlier (each refuses some inputs the other takes); the requests both
        // finished must be the same ones.
        for (index, (a, b)) in zip(ours, nio).enumerated() {
            require(a == b, "request \(index) differs: gateway \(a.prefix(300)) / NIO \(b.prefix(300))")
        }
    }

    /// The whole requests a decoder makes of `bytes` until it ends or fails, each as text.
    private static func requests<Decoder: ByteToMessageDecoder>(
        _ bytes: UnsafeRawBufferPointer, decoder: ByteToMessageHandler<Decoder>
    ) -> [String] where Decoder.InboundOut == HTTPServerRequestPart {
        let channel = EmbeddedChannel()
        defer { _ = try? channel.finish() }
        guard (try? channel.pipeline.syncOperations.addHandler(decoder)) != nil else { return [] }
        var done: [String] = []
        var current = ""
        func drain() {
            while let part = try? channel.readInbound(as: HTTPServerRequestPart.self) {
                switch part {
                case .head(let head):
                    // Values without trailing blanks: llhttp keeps them, the gateway drops them (not
                    // part of the value, RFC 9110 §5.5).
                    let fields = head.headers.map { "\($0.name)=\(trimmed($0.value))" }.joined(separator: "\n")
                    current = "\(head.method.rawValue) \(head.uri) \(head.version)\n\(fields)\n\n"
                case .body(var body):
                    current += body.readString(length: body.readableBytes) ?? ""
                case .end:
                    done.append(current)
                    current = ""
                }
            }
        }
        // Two reads, split in the middle, so partial input is exercised too.
        let half = bytes.count / 2
        for piece in [UnsafeRawBufferPointer(rebasing: bytes[..<half]), UnsafeRawBufferPointer(rebasing: bytes[half...])] {
            var buffer = channel.allocator.buffer(capacity: piece.count)
            buffer.writeBytes(piece)
            let failed = (try? channel.writeInbound(buffer)) == nil
            drain()
            if failed { return done }
        }
        return done
    }

    private static func trimmed(_ value: String) -> Substring {
        var text = Substring(value)
        while let last = text.last, last == " " || last == "\t" { text.removeLast() }
        return text
    }
}
