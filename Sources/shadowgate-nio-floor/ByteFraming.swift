import NIOCore
import NIOPosix

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
    let name = Array("content-length:".utf8)
    guard end - start > name.count else { return nil }
    for k in 0..<name.count where bytes[start + k] | 0x20 != name[k] | 0x20 { return nil }
    var value = 0
    for k in (start + name.count)..<end {
        let b = bytes[k]
        if b >= UInt8(ascii: "0") && b <= UInt8(ascii: "9") { value = value * 10 + Int(b - UInt8(ascii: "0")) }
    }
    return value
}

/// Reads whole answers off an upstream connection and hands each, verbatim, to the waiting callback.
final class ByteUpstreamHandler: ChannelInboundHandler {
    typealias InboundIn = ByteBuffer
    var onAnswer: ((ByteBuffer?) -> Void)?
    private var pending: ByteBuffer?

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        var bytes = unwrapInboundIn(data)
        if pending == nil { pending = bytes } else { pending!.writeBuffer(&bytes) }
        guard let length = messageLength(in: pending!) else { return }
        let answer = pending!.readSlice(length: length)
        if pending!.readableBytes == 0 { pending = nil }
        let callback = onAnswer
        onAnswer = nil
        callback?(answer)
    }

    func channelInactive(context: ChannelHandlerContext) {
        let callback = onAnswer
        onAnswer = nil
        callback?(nil)
    }

    func errorCaught(context: ChannelHandlerContext, error: Error) {
        context.close(promise: nil)
    }
}

/// Keep-alive raw connections to one upstream, owned by the event loop: idle ones on a stack.
final class ByteUpstream: @unchecked Sendable {
    private let loop: EventLoop
    private let port: Int
    private var idle: [(Channel, ByteUpstreamHandler)] = []
    private(set) var inFlight = 0

    init(loop: EventLoop, port: Int) {
        self.loop = loop
        self.port = port
    }

    func send(_ request: ByteBuffer, _ done: @escaping (ByteBuffer?) -> Void) {
        inFlight += 1
        if let (channel, handler) = idle.popLast(), channel.isActive {
            exchange(channel, handler, request, done)
            return
        }
        let pending = NIOLoopBound((handler: ByteUpstreamHandler(), request: request, done: done), eventLoop: loop)
        ClientBootstrap(group: loop)
            .channelOption(.socketOption(.tcp_nodelay), value: 1)
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture { try channel.pipeline.syncOperations.addHandler(pending.value.handler) }
            }
            .connect(host: "127.0.0.1", port: port)
            .whenComplete { result in
                let p = pending.value
                switch result {
                case .success(let channel): self.exchange(channel, p.handler, p.request, p.done)
                case .failure: self.inFlight -= 1; p.done(nil)
                }
            }
    }

    private func exchange(_ channel: Channel, _ handler: ByteUpstreamHandler, _ request: ByteBuffer, _ done: @escaping (ByteBuffer?) -> Void) {
        handler.onAnswer = { answer in
            self.inFlight -= 1
            if answer != nil, channel.isActive { self.idle.append((channel, handler)) }
            done(answer)
        }
        channel.writeAndFlush(request, promise: nil)
    }
}

/// The loop's two raw upstreams.
final class ByteUpstreams: @unchecked Sendable {
    let legacy: ByteUpstream
    let learner: ByteUpstream?

    init(loop: EventLoop, legacyPort: Int, learnerPort: Int?) {
        legacy = ByteUpstream(loop: loop, port: legacyPort)
        learner = learnerPort.map { ByteUpstream(loop: loop, port: $0) }
    }
}

/// One client connection in `--bytes` framing: a whole request is forwarded verbatim, the legacy
/// answer written back verbatim; one request at a time (later pipelined ones wait in the buffer).
final class ByteClientHandler: ChannelInboundHandler {
    typealias InboundIn = ByteBuffer
    typealias OutboundOut = ByteBuffer
    private let upstreams: ByteUpstreams
    private var pending: ByteBuffer?
    private var answering = false

    init(upstreams: ByteUpstreams) {
        self.upstreams = upstreams
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        var bytes = unwrapInboundIn(data)
        if pending == nil { pending = bytes } else { pending!.writeBuffer(&bytes) }
        forwardNext(context: context)
    }

    private func forwardNext(context: ChannelHandlerContext) {
        guard !answering, pending != nil, let length = messageLength(in: pending!) else { return }
        let request = pending!.readSlice(length: length)!
        if pending!.readableBytes == 0 { pending = nil }
        answering = true
        upstreams.legacy.send(request) { [self] answer in
            answering = false
            guard let answer else { context.close(promise: nil); return }
            context.writeAndFlush(wrapOutboundOut(answer), promise: nil)
            forwardNext(context: context)
        }
        if let learner = upstreams.learner, learner.inFlight < 256 {
            learner.send(request) { _ in }
        }
    }

    func errorCaught(context: ChannelHandlerContext, error: Error) {
        context.close(promise: nil)
    }
}
