import NIOCore
import NIOHTTP1

/// A client request read in full (bodies are capped by `limits.max_body_bytes`).
struct BufferedRequest {
    var head: HTTPRequestHead
    var body: ByteBuffer?
    /// Wall-clock receive time, microseconds since the Unix epoch.
    var receivedAtMicros: Int64
}
