import NIOCore
import NIOEmbedded
import NIOHTTP1
import ShadowGateConfig
@testable import ShadowGateProxy
import ShadowGateTesting
import Testing

/// The client connection handler in an `EmbeddedChannel` with virtual time: the state machine's
/// actions as bytes on the wire (408s, closes, answers), without sockets or waiting.
@Suite("Client connection handler (EmbeddedChannel)")
struct ConnectionHandlerChannelTests {
    /// A channel with the gateway's client pipeline; no routes, so only the gateway's own endpoints answer.
    static func channel(_ configure: (inout LimitsConfig) -> Void = { _ in }) throws -> EmbeddedChannel {
        var limits = LimitsConfig()
        configure(&limits)
        let config = GatewayConfig(listen: HostPort(host: "127.0.0.1", port: 0), eventLoops: 1, limits: limits, routes: [])
        let context = GatewayContext(
            config: config, flags: RouteFlagsStore(routes: []), sink: CollectingPairSink(), feedback: nil,
            metrics: GatewayMetrics(routes: []), renderMetrics: { "" })
        let channel = EmbeddedChannel()
        let upstreams = LoopUpstreams(eventLoop: channel.eventLoop, config: config, loopCount: 1)
        // The gateway's HTTP/1 pipeline, without the lingering close.
        try ClientChannelPipeline.configureHTTP1(channel, gateway: context, upstreams: upstreams, lingeringClose: false)
        try channel.connect(to: SocketAddress(ipAddress: "127.0.0.1", port: 1)).wait()
        return channel
    }

    static func written(_ channel: EmbeddedChannel) throws -> String {
        var text = ""
        while var buffer = try channel.readOutbound(as: ByteBuffer.self) {
            text += buffer.readString(length: buffer.readableBytes) ?? ""
        }
        return text
    }

    static func send(_ channel: EmbeddedChannel, _ text: String) throws {
        try channel.writeInbound(ByteBuffer(string: text))
    }

    @Test("half a head: nothing until the header timeout, then 408 and a close")
    func headerTimeout() throws {
        let channel = try Self.channel { $0.clientHeaderTimeoutMillis = 500 }
        try Self.send(channel, "GET /healthz HTTP/1.1\r\nHo")
        (channel.eventLoop as! EmbeddedEventLoop).advanceTime(by: .milliseconds(499))
        #expect(try Self.written(channel).isEmpty)
        #expect(channel.isActive)
        (channel.eventLoop as! EmbeddedEventLoop).advanceTime(by: .milliseconds(2))
        let answer = try Self.written(channel)
        #expect(answer.hasPrefix("HTTP/1.1 408"))
        #expect(answer.contains("request head not received within 500 ms"))
        #expect(!channel.isActive)
    }

    @Test("a head without its body: 408 after the body timeout")
    func bodyTimeout() throws {
        let channel = try Self.channel { $0.clientBodyTimeoutMillis = 300 }
        try Self.send(channel, "POST /healthz HTTP/1.1\r\nHost: x\r\nContent-Length: 10\r\n\r\n12345")
        (channel.eventLoop as! EmbeddedEventLoop).advanceTime(by: .milliseconds(299))
        #expect(try Self.written(channel).isEmpty)
        (channel.eventLoop as! EmbeddedEventLoop).advanceTime(by: .milliseconds(2))
        #expect(try Self.written(channel).hasPrefix("HTTP/1.1 408"))
        #expect(!channel.isActive)
    }

    @Test("keep-alive: answered, then closed silently after the idle timeout; a request in time resets it")
    func idleTimeout() throws {
        let channel = try Self.channel { $0.clientIdleTimeoutMillis = 1000 }
        let loop = channel.eventLoop as! EmbeddedEventLoop
        try Self.send(channel, "GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
        #expect(try Self.written(channel).hasPrefix("HTTP/1.1 200"))
        loop.advanceTime(by: .milliseconds(900))
        try Self.send(channel, "GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
        #expect(try Self.written(channel).hasPrefix("HTTP/1.1 200"))
        loop.advanceTime(by: .milliseconds(900))
        #expect(channel.isActive)
        loop.advanceTime(by: .milliseconds(200))
        #expect(try Self.written(channel).isEmpty)
        #expect(!channel.isActive)
    }

    @Test("quiescing an idle connection closes it; a busy one answers first (Connection: close)")
    func quiesce() throws {
        let idle = try Self.channel()
        idle.pipeline.fireUserInboundEventTriggered(ChannelShouldQuiesceEvent())
        #expect(!idle.isActive)

        let channel = try Self.channel()
        try Self.send(channel, "GET /healthz HTTP/1.1\r\nHost: x\r\n")
        channel.pipeline.fireUserInboundEventTriggered(ChannelShouldQuiesceEvent())
        #expect(channel.isActive)
        try Self.send(channel, "\r\n")
        let answer = try Self.written(channel)
        #expect(answer.hasPrefix("HTTP/1.1 200"))
        #expect(answer.lowercased().contains("connection: close"))
        #expect(!channel.isActive)
    }
}
