import NIOCore
import NIOHTTP1

/// A request to send to an upstream, fully buffered.
struct UpstreamRequest {
    var head: HTTPRequestHead
    var body: ByteBuffer?
}

/// A complete upstream response, fully buffered.
struct UpstreamResponse {
    var head: HTTPResponseHead
    var body: ByteBuffer
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
        }
    }
}

/// The outcome of one upstream exchange, with how long it took. Never a failed future: failures are values.
struct UpstreamResult {
    var response: UpstreamResponse?
    var failure: UpstreamFailure?
    var latencyMicros: Int64
}
