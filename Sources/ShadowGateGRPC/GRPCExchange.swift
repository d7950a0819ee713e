import NIOCore
import NIOHPACK

/// One unary gRPC call as the gateway forwards it: request headers (metadata) and body, fully buffered.
struct GRPCCallRequest {
    /// `:path`, e.g. `/inference.GRPCInferenceService/ModelInfer`.
    var path: String
    /// The client's headers without pseudo-headers and hop-by-hop ones (metadata, `grpc-timeout`, `te`).
    var metadata: HPACKHeaders
    var body: ByteBuffer
}

/// The upstream's whole answer: headers, body and trailers, as received.
struct GRPCCallResponse {
    var headers: HPACKHeaders
    var body: ByteBuffer
    /// Nil for a trailers-only response (the status is then in `headers`).
    var trailers: HPACKHeaders?

    /// `grpc-status` from the trailers (or the headers of a trailers-only answer); nil when absent.
    var grpcStatus: Int? {
        let source = trailers ?? headers
        return source.first(name: "grpc-status").flatMap { Int($0) }
    }

    var grpcMessage: String? { (trailers ?? headers).first(name: "grpc-message") }
}

/// Why a forwarded call got no answer.
enum GRPCCallFailure: Error, Equatable {
    case timeout
    case connectFailed(String)
    case streamClosed(String)
    case tooLarge(Int)
    case saturated
    case tlsFailed(String)

    var reason: String {
        switch self {
        case .timeout: "timed out"
        case .connectFailed(let detail): "connection failed: \(detail)"
        case .streamClosed(let detail): "stream closed before a complete response: \(detail)"
        case .tooLarge(let limit): "response larger than \(limit) bytes"
        case .saturated: "too many calls in flight"
        case .tlsFailed(let detail): detail
        }
    }

    /// What the client reads in `grpc-message`: the kind of failure, without socket or parser
    /// detail (that stays in ``reason``, for the pair record). TLS reasons are written for clients.
    var clientReason: String {
        switch self {
        case .timeout: "timed out"
        case .connectFailed: "could not be reached"
        case .streamClosed: "closed the stream before a complete response"
        case .tooLarge(let limit): "sent a response larger than \(limit) bytes"
        case .saturated: "has too many calls in flight"
        case .tlsFailed(let detail): "could not be reached: \(detail)"
        }
    }

    /// The gRPC status the client gets when this happens to the serving model.
    var status: Int {
        switch self {
        case .timeout: GRPCStatus.deadlineExceeded
        case .saturated, .tooLarge: GRPCStatus.resourceExhausted
        default: GRPCStatus.unavailable
        }
    }
}

struct GRPCCallResult {
    var response: GRPCCallResponse?
    var failure: GRPCCallFailure?
    var latencyMicros: Int64
}
