import NIOCore
import NIOHTTP1
import ShadowGateRouting

/// Responses the gateway makes itself (errors, health, metrics, feedback answers), built in one place.
extension GatewayResponse {
    /// A gateway-made response with a complete body. `servedBy` and `requestID` become
    /// `x-shadowgate-served-by` and `x-request-id` when given.
    static func own(
        status: HTTPResponseStatus, body: ByteBuffer, contentType: String, version: HTTPVersion,
        requestID: String? = nil, servedBy: String? = nil
    ) -> GatewayResponse {
        var headers = HTTPHeaders()
        headers.add(name: "content-type", value: contentType)
        headers.add(name: "content-length", value: String(body.readableBytes))
        if let requestID { headers.add(name: "x-request-id", value: requestID) }
        if let servedBy { headers.add(name: "x-shadowgate-served-by", value: servedBy) }
        return GatewayResponse(head: HTTPResponseHead(version: version, status: status, headers: headers), body: body)
    }

    /// A gateway-made JSON error response (`{"error": "..."}`).
    static func json(_ error: JSONErrorResponse, version: HTTPVersion, requestID: String?, servedBy: ModelRole? = nil) -> GatewayResponse {
        own(status: error.status, body: error.body(allocator: ByteBufferAllocator()), contentType: "application/json",
            version: version, requestID: requestID, servedBy: servedBy?.rawValue ?? "gateway")
    }

    /// A 200 with a text body (health, readiness, metrics).
    static func text(_ text: String, contentType: String, version: HTTPVersion) -> GatewayResponse {
        var body = ByteBufferAllocator().buffer(capacity: text.utf8.count)
        body.writeString(text)
        return own(status: .ok, body: body, contentType: contentType, version: version)
    }
}
