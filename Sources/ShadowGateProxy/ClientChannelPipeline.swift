import NIOCore
import NIOHTTP1
import NIOHTTP2
import NIOTLS
import ShadowGateTLS

/// How a client connection's pipeline is built, once per accepted connection.
///
/// Plain port: HTTP/1.1. TLS port: the protocol ALPN settled on — `http/1.1` (or no ALPN) gets the
/// same HTTP/1 pipeline after TLS; `h2` gets an HTTP/2 connection whose every stream runs through
/// `HTTP2FramePayloadToHTTP1ServerCodec` into its own ``GatewayConnectionHandler``, so a REST request,
/// feedback or pair record is handled the same way whichever protocol carried it.
///
/// HTTP/1 connections (plain or TLS) end with a lingering close after an answer that closes them
/// (see ``GatewayConnectionHandler``; over TLS the half-close sends close_notify, then FIN). h2 streams
/// do not linger: a stream's end is HTTP/2's (a refused stream is reset at the stream level).
///
/// Promises for h2 connections (the overload limits of HTTP/1 carried over):
/// - the connection counts once against `limits.max_connections` (it is registered before TLS);
/// - a client that does not finish the TLS handshake, or opens no stream, within
///   `limits.client_idle_timeout_ms` of connecting is closed;
/// - a connection without open streams for `limits.client_idle_timeout_ms` is closed (GOAWAY first;
///   a client that does not acknowledge the shutdown PING within that time again is closed anyway);
/// - each stream has the body timeout and body-size limit of an HTTP/1 request (408 / 413 on that stream);
/// - at most 100 streams are open at once per connection (NIO's default SETTINGS), and a header
///   list is at most 16 KiB;
/// - on shutdown (`ChannelShouldQuiesceEvent`) the connection sends GOAWAY, answers the streams it
///   has, then closes.
enum ClientChannelPipeline {
    /// HTTP/1.1 on a channel that carries plaintext (a plain socket, or TLS already in front).
    /// `lingeringClose` is off only in tests that want a refusal's close at once.
    static func configureHTTP1(_ channel: Channel, gateway: GatewayContext, upstreams: LoopUpstreams, lingeringClose: Bool = true) throws {
        let connection = GatewayConnectionHandler(
            gateway: gateway, upstreams: upstreams, lingeringClose: lingeringClose, encodesResponses: true)
        let pipeline = channel.pipeline.syncOperations
        // After TLS (it sees plaintext): the gateway's own request framing, which hands the parts
        // straight to the connection. No response encoder: the connection handler does its own
        // pipelining and JSON error answers, and writes answers as bytes (`ClientResponseEncoding`).
        try pipeline.addHandler(HTTP1ClientReader(connection: connection))
        try pipeline.addHandler(connection)
    }

    /// TLS, then HTTP/1.1 or HTTP/2 by ALPN.
    static func configureTLS(_ channel: Channel, tls: ListenerTLS, gateway: GatewayContext, upstreams: LoopUpstreams) throws {
        let limits = gateway.config.limits
        let idle = TimeAmount.milliseconds(Int64(limits.clientIdleTimeoutMillis))
        // Until the protocol is known (HTTP/1) or the first stream opens (h2), no handler of ours
        // watches the clock: this deadline does.
        let firstRequestDeadline = channel.eventLoop.scheduleTask(in: idle) { channel.close(promise: nil) }
        channel.closeFuture.whenComplete { _ in firstRequestDeadline.cancel() }

        try channel.pipeline.syncOperations.addHandler(tls.makeHandler())
        let negotiation = ApplicationProtocolNegotiationHandler { result, channel in
            channel.eventLoop.makeCompletedFuture {
                switch result {
                case .negotiated("h2"):
                    try configureHTTP2(channel, idle: idle, firstStream: firstRequestDeadline, gateway: gateway, upstreams: upstreams)
                default:
                    firstRequestDeadline.cancel()
                    try configureHTTP1(channel, gateway: gateway, upstreams: upstreams)
                }
            }
        }
        try channel.pipeline.syncOperations.addHandler(negotiation)
    }

    private static func configureHTTP2(
        _ channel: Channel, idle: TimeAmount, firstStream: Scheduled<Void>, gateway: GatewayContext, upstreams: LoopUpstreams
    ) throws {
        let pipeline = channel.pipeline.syncOperations
        // Idle connections and graceful shutdown (GOAWAY, then close once the streams are answered).
        // Its idle timer starts when the last stream closes; before the first one, `firstStream` bounds the wait.
        let management = NIOHTTP2ServerConnectionManagementHandler(
            eventLoop: channel.eventLoop,
            configuration: .init(maxIdleTime: idle, maxAge: nil, maxGraceTime: nil, keepalive: nil))
        // The inline multiplexer tells stream openings and closings only to a delegate, not down the pipeline.
        let streams = StreamLifecycle(management: management.http2StreamDelegate, firstStream: firstStream)
        _ = try pipeline.configureHTTP2Pipeline(
            mode: .server, connectionConfiguration: .init(), streamConfiguration: .init(), streamDelegate: streams
        ) { stream in
            stream.eventLoop.makeCompletedFuture {
                try stream.pipeline.syncOperations.addHandler(HTTP2FramePayloadToHTTP1ServerCodec())
                try stream.pipeline.syncOperations.addHandler(GatewayConnectionHandler(gateway: gateway, upstreams: upstreams))
            }
        }
        // Between the two: a client that never acknowledges the shutdown PING would otherwise hold the connection.
        try pipeline.addHandler(ShutdownPingDeadlineHandler(bound: idle))
        try pipeline.addHandler(management)
    }
}

/// Tells the connection management handler about streams, and cancels the connection's
/// first-request deadline when the first stream opens.
private struct StreamLifecycle: NIOHTTP2StreamDelegate {
    let management: NIOHTTP2ServerConnectionManagementHandler.HTTP2StreamDelegate
    let firstStream: Scheduled<Void>

    func streamCreated(_ id: HTTP2StreamID, channel: Channel) {
        firstStream.cancel()
        management.streamCreated(id, channel: channel)
    }

    func streamClosed(_ id: HTTP2StreamID, channel: Channel) {
        management.streamClosed(id, channel: channel)
    }
}
