import NIOCore

/// The length of the first whole HTTP/1 message (head plus content-length body) at the front of
/// `buffer`, or nil while it is incomplete. Chunked bodies are not understood: the floor's clients and
/// stubs (wrk, nginx) send lengths.
func messageLength(in buffer: ByteBuffer) -> Int? {
    buffer.withUnsafeReadableBytes { bytes -> Int? in
        let count = bytes.count
        guard count >= 4 else { return nil }
        var i = 0
        var lineStart = 0
        var contentLength = 0
        while i + 1 < count {
            guard bytes[i] == UInt8(ascii: "\r"), bytes[i + 1] == UInt8(ascii: "\n") else { i += 1; continue }
            if i == lineStart { return i + 2 + contentLength <= count ? i + 2 + contentLength : nil }
            contentLength = lengthValue(bytes, from: lineStart, to: i) ?? contentLength
            i += 2
            lineStart = i
        }
        return nil
    }
}

/// The value of a `content-length:` line between `start` and `end`, or nil for any other line.
private func lengthValue(_ bytes: UnsafeRawBufferPointer, from start: Int, to end: Int) -> Int? {
    let name: StaticString = "content-length:"
    let count = name.utf8CodeUnitCount
    guard end - start > count else { return nil }
    for k in 0..<count where bytes[start + k] | 0x20 != name.utf8Start[k] { return nil }
    var value = 0
    for k in (start + count)..<end {
        let b = bytes[k]
        if b >= UInt8(ascii: "0") && b <= UInt8(ascii: "9") { value = value * 10 + Int(b - UInt8(ascii: "0")) }
    }
    return value
}

/// No HTTP code on the upstream side: requests written verbatim, whole answers handed over verbatim.
final class ByteFloorExchange: FloorExchange {
    typealias InboundIn = ByteBuffer
    var onAnswer: ((ByteBuffer?) -> Void)?
    private var pending: ByteBuffer?

    func addCodec(to pipeline: ChannelPipeline.SynchronousOperations) throws {}

    static func write(_ request: ByteBuffer, to channel: Channel) {
        channel.writeAndFlush(request, promise: nil)
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        var bytes = unwrapInboundIn(data)
        if pending == nil { pending = bytes } else { pending!.writeBuffer(&bytes) }
        guard let length = messageLength(in: pending!) else { return }
        let answer = pending!.readSlice(length: length)
        if pending!.readableBytes == 0 { pending = nil }
        answered(answer)
    }
}

/// One client connection in `--bytes` framing: a whole request is forwarded verbatim, the legacy
/// answer written back verbatim; one request at a time (later pipelined ones wait in the buffer).
final class ByteFloorClientHandler: ChannelInboundHandler {
    typealias InboundIn = ByteBuffer
    typealias OutboundOut = ByteBuffer
    private let upstreams: FloorUpstreams<ByteFloorExchange>
    private let work: AddedWork
    private var pending: ByteBuffer?
    private var answering = false

    init(upstreams: FloorUpstreams<ByteFloorExchange>, work: AddedWork) {
        self.upstreams = upstreams
        self.work = work
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        var bytes = unwrapInboundIn(data)
        if pending == nil { pending = bytes } else { pending!.writeBuffer(&bytes) }
        forwardNext(context: context)
    }

    private func forwardNext(context: ChannelHandlerContext) {
        guard !answering, pending != nil, let length = messageLength(in: pending!) else { return }
        let request = pending!.readSlice(length: length)!
        work.spend()
        if pending!.readableBytes == 0 { pending = nil }
        answering = true
        upstreams.forward(request) { [self] answer in
            answering = false
            guard let answer else { context.close(promise: nil); return }
            context.writeAndFlush(wrapOutboundOut(answer), promise: nil)
            forwardNext(context: context)
        }
    }

    func errorCaught(context: ChannelHandlerContext, error: Error) {
        context.close(promise: nil)
    }
}
