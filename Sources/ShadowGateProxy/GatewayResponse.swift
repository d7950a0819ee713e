import NIOCore
import NIOHTTP1

/// What the gateway writes back for one request.
struct GatewayResponse {
    var head: HTTPResponseHead
    var body: ByteBuffer
}
