import NIOCore
import NIOEmbedded
import NIOHTTP1
@testable import ShadowGateProxy
import Testing

/// The gateway's request framing against NIO's `HTTPRequestDecoder` (llhttp), the decoder it
/// replaced: the same heads, bodies and message ends for well-formed requests however the bytes are
/// split, and a refusal from both wherever framing is ambiguous (where requests are smuggled).
@Suite("HTTP/1 request decoder")
struct HTTP1RequestDecoderTests {
    /// What a decoder makes of `chunks`, fed in order then ended: the parts as text (consecutive
    /// body parts joined, since decoders may split a body differently), and whether it failed.
    static func parts(_ chunks: [String], nio: Bool) -> (parts: [String], failed: Bool) {
        let channel = EmbeddedChannel()
        let handler = nio
            ? try! channel.pipeline.syncOperations.addHandler(ByteToMessageHandler(HTTPRequestDecoder(leftOverBytesStrategy: .dropBytes)))
            : try! channel.pipeline.syncOperations.addHandler(ByteToMessageHandler(HTTP1RequestDecoder()))
        _ = handler
        var failed = false
        var parts: [String] = []
        func drain() {
            while let part = try? channel.readInbound(as: HTTPServerRequestPart.self) {
                switch part {
                case .head(let head):
                    // Values without trailing blanks: llhttp keeps them, the gateway drops them (RFC 9110 §5.5:
                    // they are not part of the value).
                    let fields = head.headers.map { "\($0.name)=\($0.value.trimmingTrailingBlanks)" }.joined(separator: ";")
                    parts.append("head \(head.method.rawValue) \(head.uri) \(head.version) [\(fields)]")
                case .body(var body):
                    let text = body.readString(length: body.readableBytes) ?? ""
                    if let last = parts.last, last.hasPrefix("body ") { parts[parts.count - 1] = last + text } else { parts.append("body " + text) }
                case .end:
                    parts.append("end")
                }
            }
        }
        for chunk in chunks where !failed {
            do { try channel.writeInbound(ByteBuffer(string: chunk)) } catch { failed = true }
            drain()
        }
        if !failed {
            do { _ = try channel.finish() } catch { failed = true }
            drain()
        } else {
            _ = try? channel.finish()
        }
        return (parts, failed)
    }

    static let wellFormed: [(String, String)] = [
        ("GET", "GET /v1/models/m HTTP/1.1\r\nHost: x\r\n\r\n"),
        ("POST with a length", "POST /v1/models/m:predict HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 13\r\n\r\n{\"a\":[1,2,3]}"),
        ("chunked with extensions and trailers",
         "POST /p HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n5;name=v\r\nhello\r\n7\r\n, world\r\n0\r\nX-Trailer: t\r\n\r\n"),
        ("pipelined", "GET /a HTTP/1.1\r\nHost: x\r\n\r\nPOST /b HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\n\r\nokPOST /c HTTP/1.1\r\n"
            + "Host: x\r\nTransfer-Encoding: gzip, chunked\r\n\r\n2\r\nhi\r\n0\r\n\r\nDELETE /d?x=1 HTTP/1.1\r\nHost: x\r\n\r\n"),
        ("HTTP/1.0 with keep-alive", "GET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\n"),
        ("blanks around values, tabs inside", "GET / HTTP/1.1\r\nHost:x\r\nX-A:  \t spaced \t value \t \r\nX-B: a\tb\r\n\r\n"),
        ("a zero length", "PUT /z HTTP/1.1\r\nContent-Length: 0\r\n\r\n"),
        ("absolute form and asterisk form", "GET http://example.org/a?b=c HTTP/1.1\r\nHost: example.org\r\n\r\nOPTIONS * HTTP/1.1\r\nHost: x\r\n\r\n"),
        ("bytes over 0x7F in a value", "GET / HTTP/1.1\r\nX-Name: caf\u{e9}\r\n\r\n"),
        ("an empty line before the request line", "\r\nGET / HTTP/1.1\r\nHost: x\r\n\r\n"),
        ("a body on GET", "GET /g HTTP/1.1\r\nContent-Length: 4\r\n\r\nbody"),
        ("every method llhttp knows", "PROPFIND /a HTTP/1.1\r\n\r\nPATCH /b HTTP/1.1\r\nContent-Length: 1\r\n\r\nxOPTIONS /c HTTP/1.1\r\n\r\n"
            + "M-SEARCH * HTTP/1.1\r\n\r\nTRACE / HTTP/1.1\r\n\r\nHEAD / HTTP/1.1\r\n\r\nCONNECT example.org:443 HTTP/1.1\r\n\r\n"),
        ("a big chunk in hex", "POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\nA\r\n0123456789\r\n0\r\n\r\n"),
        ("chunk sizes with many leading zeros", "POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n00000000000000000003\r\nabc\r\n0000\r\n\r\n"),
    ]

    @Test("well-formed requests: the same parts as NIO's decoder, whole and split at every byte")
    func sameAsNIO() {
        for (name, raw) in Self.wellFormed {
            let expected = Self.parts([raw], nio: true)
            #expect(!expected.failed, "NIO refused \(name)")
            #expect(Self.parts([raw], nio: false) == expected, "\(name)")
            let bytes = Array(raw.utf8)
            for cut in 1..<bytes.count {
                let split = [String(decoding: bytes[..<cut], as: UTF8.self), String(decoding: bytes[cut...], as: UTF8.self)]
                // A cut inside a multi-byte character changes the text, not the bytes: skip those.
                guard split.joined().utf8.count == bytes.count else { continue }
                #expect(Self.parts(split, nio: false) == expected, "\(name), cut at \(cut)")
            }
        }
    }

    static let ambiguous: [(String, String)] = [
        ("length and chunked", "POST / HTTP/1.1\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n"),
        ("chunked and length", "POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\nContent-Length: 5\r\n\r\n0\r\n\r\n"),
        ("two different lengths", "POST / HTTP/1.1\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\nabcdef"),
        ("a length that is not a number", "POST / HTTP/1.1\r\nContent-Length: 5a\r\n\r\nabcde"),
        ("a negative length", "POST / HTTP/1.1\r\nContent-Length: -1\r\n\r\n"),
        ("a length list", "POST / HTTP/1.1\r\nContent-Length: 1, 1\r\n\r\na"),
        ("a space before the colon", "POST / HTTP/1.1\r\nContent-Length : 5\r\n\r\nabcde"),
        ("obsolete line folding", "GET / HTTP/1.1\r\nX-A: a\r\n b\r\n\r\n"),
        ("a NUL in a value", "GET / HTTP/1.1\r\nX-A: a\u{0}b\r\n\r\n"),
        ("a bare CR in a value", "GET / HTTP/1.1\r\nX-A: a\rb\r\n\r\n"),
        ("a bad chunk size", "POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\nab\r\n0\r\n\r\n"),
        ("chunk data longer than its size", "POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nabc\r\n0\r\n\r\n"),
        ("a name with a separator", "GET / HTTP/1.1\r\nX(A): 1\r\n\r\n"),
        ("the same length twice", "POST / HTTP/1.1\r\nContent-Length: 3\r\nContent-Length: 3\r\n\r\nabc"),
        ("an unknown method", "BREW /pot HTTP/1.1\r\nHost: x\r\n\r\n"),
        ("no version", "GET /\r\n\r\n"),
        ("not HTTP", "GET / FTP/1.1\r\n\r\n"),
        ("input ends inside a head", "GET / HTTP/1.1\r\nHost: x\r\n"),
        ("chunked twice", "POST / HTTP/1.1\r\nTransfer-Encoding: chunked, chunked\r\n\r\n1\r\na\r\n0\r\n\r\n"),
        ("a bare LF ending a header line", "POST / HTTP/1.1\r\nHost: x\nContent-Length: 1\r\n\r\na"),
        ("a bare LF after a chunk size", "POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n1\na\r\n0\r\n\r\n"),
        ("a length among the trailers", "POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n1\r\na\r\n0\r\nContent-Length: 5\r\n\r\n"),
        ("a target that is no URI form", "POST v1/models/m:predict HTTP/1.1\r\nContent-Length: 1\r\n\r\na"),
        ("a target starting with a quote", "GET \"v1 HTTP/1.1\r\n\r\n"),
        ("input ends inside a body", "POST / HTTP/1.1\r\nContent-Length: 10\r\n\r\nabc"),
        ("M-SEARCH without its dash", "MSEARCH * HTTP/1.1\r\n\r\n"),
        ("a length with a sign", "POST / HTTP/1.1\r\nContent-Length: +3\r\n\r\nabc"),
    ]

    @Test("ambiguous or malformed framing: refused by both decoders")
    func refusedByBoth() {
        for (name, raw) in Self.ambiguous {
            #expect(Self.parts([raw], nio: true).failed, "NIO accepted \(name)")
            #expect(Self.parts([raw], nio: false).failed, "the gateway accepted \(name)")
        }
    }

    @Test("refused by the gateway only, stricter than llhttp: a transfer coding other than chunked last or in HTTP/1.0, doubled spaces")
    func stricterThanNIO() {
        for raw in [
            "GET  / HTTP/1.1\r\n\r\n",
            "POST / HTTP/1.1\r\nTransfer-Encoding: chunked, gzip\r\n\r\n0\r\n\r\n",
            "POST / HTTP/1.1\r\nTransfer-Encoding: identity\r\n\r\n",
            "POST / HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
        ] {
            #expect(Self.parts([raw], nio: false).failed, "\(raw)")
        }
    }

    /// Whether a decoder refuses `raw` while the connection is still open (before any EOF).
    static func refusesAtOnce(_ raw: String, nio: Bool) -> Bool {
        let channel = EmbeddedChannel()
        defer { _ = try? channel.finish() }
        if nio {
            try! channel.pipeline.syncOperations.addHandler(ByteToMessageHandler(HTTPRequestDecoder(leftOverBytesStrategy: .dropBytes)))
        } else {
            try! channel.pipeline.syncOperations.addHandler(ByteToMessageHandler(HTTP1RequestDecoder()))
        }
        for byte in raw.utf8 {
            // Byte by byte: a head that arrives slowly is checked as it comes.
            if (try? channel.writeInbound(ByteBuffer(bytes: [byte]))) == nil { return true }
            while (try? channel.readInbound(as: HTTPServerRequestPart.self)) != nil {}
        }
        return false
    }

    @Test("bad bytes in a head that has not ended are refused as they arrive, by both (not after the header timeout)")
    func refusedAsTheyArrive() {
        for raw in [
            "GET /a HTTP/1.1\r\nHost: x\r\nBad Header: 1\r\n",
            "GET /a HTTP/1.1\r\nHost: x\nMore: 1",
            "\u{16}\u{3}\u{1}\u{0}",
            "GE\u{0}T / HTTP/1.1",
            "POST v1/models HTTP/1.1",
            "GET /a HTTP/1.1\r\n X-Folded: 1\r\n",
            "GET /a HTTP/1.1\r\nHost: x\r\nX-A: a\u{0}",
            "GET /a HTTP/1.1\r\nHo(st",
            "POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\nzz",
            "POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n1\r\naXX",
            "POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n0\r\nBad(Trailer",
            // A method no known one starts like; a length that cannot be one, or a second one, at its line.
            "GXT / HTTP/1.1",
            "get / HTTP/1.1",
            "POST / HTTP/1.1\r\nContent-Length: 12a",
            "POST / HTTP/1.1\r\nContent-Length: 1 2",
            "POST / HTTP/1.1\r\nContent-Length: x\r\nHost: y",
            "POST / HTTP/1.1\r\nContent-Length: 3\r\nContent-Length: 3\r\nHost: y",
            // Past the first KiB of a line still arriving: a bare CR or a control byte.
            "GET /" + String(repeating: "a", count: 2000) + "\rb",
            "GET /" + String(repeating: "a", count: 2000) + "\u{1}",
            "GET / HTTP/1.1\r\nX-Long: " + String(repeating: "a", count: 2000) + "\rb",
        ] {
            #expect(Self.refusesAtOnce(raw, nio: true), "NIO waited on \(String(reflecting: raw))")
            #expect(Self.refusesAtOnce(raw, nio: false), "the gateway waited on \(String(reflecting: raw))")
        }
        // Only HTTP/1.x here (llhttp would wait for a 2.0 head).
        #expect(Self.refusesAtOnce("GET / HTTP/2.0\r\n", nio: false))
        // A well-formed head that is still arriving is not refused.
        #expect(!Self.refusesAtOnce("POST /v1/models/m:predict HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n", nio: false))
        #expect(!Self.refusesAtOnce("M-SEARCH * HTTP/1.1\r\nContent-Length: \t12 \r", nio: false))
        #expect(!Self.refusesAtOnce("PROPPATCH /x HTTP/1.1\r\ncontent-length:7\r\nX: 1\r\n", nio: false))
        #expect(!Self.refusesAtOnce("GET /" + String(repeating: "a", count: 3000) + " HTTP/1.1\r", nio: false))
        #expect(!Self.refusesAtOnce("GET / HTTP/1.1\r\nX-Long: " + String(repeating: "a\t", count: 1500) + "\r", nio: false))
        #expect(!Self.refusesAtOnce("POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n1f;x=y\r\n0123456789abcdef0123456789abcde\r", nio: false))
    }

    @Test("a head over 80 KiB is refused before it ends")
    func headLimit() {
        let big = "GET / HTTP/1.1\r\nX-Big: " + String(repeating: "a", count: HTTP1RequestDecoder.maxHeadBytes + 1)
        #expect(Self.parts([big], nio: false).failed)
    }
}

private extension String {
    var trimmingTrailingBlanks: String {
        var text = Substring(self)
        while let last = text.last, last == " " || last == "\t" { text.removeLast() }
        return String(text)
    }
}
