import NIOHTTP1
@testable import ShadowGateProxy
import Testing

/// The one-pass header rewrites of the data path, both directions.
@Suite("Proxy headers")
struct ProxyHeadersTests {
    @Test("to an upstream: hop-by-hop, Connection-listed, expect, length, id and host replaced; order kept")
    func forwarded() {
        let client = HTTPHeaders([
            ("Host", "gw:8080"), ("Content-Type", "application/json"), ("Connection", "X-Secret, keep-alive"),
            ("X-Secret", "1"), ("Keep-Alive", "timeout=5"), ("Expect", "100-continue"), ("Content-Length", "12"),
            ("X-Request-Id", "client-id"), ("TE", "trailers"), ("Accept", "*/*"), ("Transfer-Encoding", "chunked"),
        ])
        let out = HTTPHeaders.forwarded(from: client, requestID: "rid", contentLength: 12, host: "up:9000")
        #expect(out.map { "\($0.name)=\($0.value)" } == [
            "Content-Type=application/json", "Accept=*/*", "x-request-id=rid", "content-length=12", "host=up:9000",
        ])
        let get = HTTPHeaders.forwarded(from: HTTPHeaders([("Connection", "close"), ("A", "b")]), requestID: "r", contentLength: nil, host: "h")
        #expect(get.map { "\($0.name)=\($0.value)" } == ["A=b", "x-request-id=r", "host=h"])
    }

    @Test("to the client: a right length stays in place, a wrong or missing one is set; id and served-by appended")
    func toClient() {
        let upstream = HTTPHeaders([("Content-Type", "application/json"), ("Content-Length", "5"), ("X-Request-Id", "theirs"), ("Connection", "keep-alive")])
        let right = HTTPHeaders.toClient(from: upstream, bodyLength: 5, requestID: "rid", servedBy: "legacy")
        #expect(right.map { "\($0.name)=\($0.value)" } == [
            "Content-Type=application/json", "Content-Length=5", "x-request-id=rid", "x-shadowgate-served-by=legacy",
        ])
        let chunked = HTTPHeaders([("Transfer-Encoding", "chunked"), ("X-Stub", "1")])
        let set = HTTPHeaders.toClient(from: chunked, bodyLength: 7, requestID: "rid", servedBy: "learner")
        #expect(set.map { "\($0.name)=\($0.value)" } == ["X-Stub=1", "content-length=7", "x-request-id=rid", "x-shadowgate-served-by=learner"])
        let wrong = HTTPHeaders.toClient(from: upstream, bodyLength: 9, requestID: "rid", servedBy: "legacy")
        #expect(wrong[canonicalForm: "content-length"] == ["9"])
        // HEAD: the upstream's length describes a body that is not sent; it is passed on as is.
        let head = HTTPHeaders.toClient(from: upstream, bodyLength: nil, requestID: "rid", servedBy: "legacy")
        #expect(head[canonicalForm: "content-length"] == ["5"])
    }
}
