import NIOCore
import NIOHTTP1
import ShadowGatePairRecord

/// A request to send to an upstream, fully buffered.
///
/// The header lines are encoded once per client request and shared by every upstream it goes to
/// (the serving model and the shadow): only the request line and `host` differ between them.
struct UpstreamRequest {
    var method: HTTPMethod
    /// Path and query as the upstream gets them (under its base path).
    var uri: String
    /// `name: value\r\n` lines, sent as they are before `host` (see ``ForwardedHeaderLines``).
    var headerLines: ByteBuffer
    /// The `host` header's value: the upstream's authority.
    var host: String
    var body: ByteBuffer?
}

/// A complete upstream response, fully buffered; its header lines stay bytes (see ``UpstreamHeaderBlock``).
struct UpstreamResponse {
    var version: HTTPVersion
    var status: HTTPResponseStatus
    var fields: UpstreamHeaderBlock
    var body: ByteBuffer

    init(version: HTTPVersion, status: HTTPResponseStatus, fields: UpstreamHeaderBlock, body: ByteBuffer) {
        self.version = version
        self.status = status
        self.fields = fields
        self.body = body
    }

    init(head: HTTPResponseHead, body: ByteBuffer) {
        self.init(version: head.version, status: head.status, fields: UpstreamHeaderBlock(head.headers), body: body)
    }

    /// The head with its headers as `HTTPHeaders` (built on each call).
    var head: HTTPResponseHead {
        HTTPResponseHead(version: version, status: status, headers: fields.headers)
    }
}

/// Why an upstream exchange produced no response.
enum UpstreamFailure: Error, Equatable {
    case timeout
    case connectFailed(String)
    case connectionClosed
    case responseTooLarge(limit: Int)
    case poolSaturated
    case malformedResponse(String)
    /// TLS to an `https://` upstream failed (verification, handshake, a refused client certificate).
    case tlsFailed(String)
    case shuttingDown
    /// Not attempted: recent connection attempts failed or exchanges timed out, and the pool's circuit
    /// breaker is open until its backoff ends.
    case circuitOpen

    /// A short reason for logs, pair records and error bodies.
    var reason: String {
        switch self {
        case .timeout: "timed out"
        case .connectFailed(let detail): "connection failed: \(detail)"
        case .connectionClosed: "connection closed before a complete response"
        case .responseTooLarge(let limit): "response larger than \(limit) bytes"
        case .poolSaturated: "connection pool and wait queue full"
        case .malformedResponse(let detail): "malformed response: \(detail)"
        case .tlsFailed(let detail): detail
        case .shuttingDown: "gateway shutting down"
        case .circuitOpen: "not attempted: upstream recently unreachable (circuit open)"
        }
    }

    /// The skip reason when the exchange was never sent (the shadow side of a pair says why).
    var skipReason: ShadowSkipReason? {
        switch self {
        case .poolSaturated: .poolSaturated
        case .shuttingDown: .shuttingDown
        case .circuitOpen: .circuitOpen
        default: nil
        }
    }

    /// What a client may read: a plain sentence, without socket errors or parser internals (those are logged).
    var clientReason: String {
        switch self {
        case .timeout: "timed out"
        case .connectFailed: "could not be reached"
        case .connectionClosed: "closed the connection before a complete response"
        case .responseTooLarge(let limit): "sent a response larger than \(limit) bytes"
        case .poolSaturated: "is at its connection limit and its wait queue is full"
        case .malformedResponse: "sent a malformed response"
        // TLSFailure's reasons are written for clients (`TLS handshake failed: certificate verification failed`).
        case .tlsFailed(let detail): "could not be reached: \(detail)"
        case .shuttingDown: "is not available: the gateway is shutting down"
        case .circuitOpen: "is not available: recent connection attempts failed"
        }
    }
}

/// The outcome of one upstream exchange, with how long it took. Never a failed future: failures are values.
struct UpstreamResult {
    var response: UpstreamResponse?
    var failure: UpstreamFailure?
    var latencyMicros: Int64
}
