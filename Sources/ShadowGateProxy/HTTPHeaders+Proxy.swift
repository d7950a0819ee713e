import NIOCore
import NIOHTTP1

extension HTTPHeaders {
    /// Removes hop-by-hop headers (RFC 9110 §7.6.1), those named in `Connection:`, and `expect`, in place.
    ///
    /// The common case, no such header, costs one pass and no copy: this runs for every request and response.
    mutating func removeHopByHop() {
        var connectionValue: String?
        var found = false
        for (name, value) in self where Self.isHopByHop(name) {
            found = true
            if name.utf8.count == 10, Self.equalsLowercase(name, "connection") { connectionValue = value }
        }
        guard found else { return }
        // `Connection: keep-alive` / `close` (what servers send) name no other header to drop.
        if let value = connectionValue, Self.equalsLowercase(value, "keep-alive") || Self.equalsLowercase(value, "close") {
            connectionValue = nil
        }
        var names: [String] = []
        for (name, _) in self where Self.isHopByHop(name) || connectionValue.map({ Self.isListed(name, in: $0) }) == true {
            names.append(name)
        }
        for name in names { remove(name: name) }
    }

    /// Case-insensitive membership in the hop-by-hop set, without allocating.
    static func isHopByHop(_ name: String) -> Bool {
        switch name.utf8.count {
        case 2: equalsLowercase(name, "te")
        case 6: equalsLowercase(name, "expect")
        case 7: equalsLowercase(name, "upgrade") || equalsLowercase(name, "trailer")
        case 10: equalsLowercase(name, "connection") || equalsLowercase(name, "keep-alive")
        case 16: equalsLowercase(name, "proxy-connection")
        case 17: equalsLowercase(name, "transfer-encoding")
        case 18: equalsLowercase(name, "proxy-authenticate")
        case 19: equalsLowercase(name, "proxy-authorization")
        default: false
        }
    }

    /// Whether `name` is one of the comma-separated tokens of a `Connection:` value.
    static func isListed(_ name: String, in connectionValue: String) -> Bool {
        for token in connectionValue.split(separator: ",") {
            let trimmed = token.trimmingCharacters()
            if trimmed.utf8.count == name.utf8.count, trimmed.lowercased() == name.lowercased() { return true }
        }
        return false
    }

    /// ASCII case-insensitive equality with a lowercase literal.
    static func equalsLowercase(_ text: String, _ lower: StaticString) -> Bool {
        guard text.utf8.count == lower.utf8CodeUnitCount else { return false }
        let expected = lower.utf8Start
        var i = 0
        for byte in text.utf8 {
            let lowered = byte >= UInt8(ascii: "A") && byte <= UInt8(ascii: "Z") ? byte | 0x20 : byte
            if lowered != expected[i] { return false }
            i += 1
        }
        return true
    }
}

extension Substring {
    func trimmingCharacters() -> Substring {
        var s = self
        while let first = s.first, first == " " || first == "\t" { s.removeFirst() }
        while let last = s.last, last == " " || last == "\t" { s.removeLast() }
        return s
    }
}

/// The header lines every upstream of one client request gets, encoded once (`name: value\r\n` each).
///
/// The client's headers in their order, leaving out hop-by-hop headers, those named in `Connection:`,
/// `expect`, `content-length`, `x-request-id` and `host`; then `x-request-id` and `content-length`
/// (when given). `host` differs per upstream and is written by ``UpstreamRequest/encodedHead(allocator:)``.
enum ForwardedHeaderLines {
    static func encode(from client: HTTPHeaders, requestID: String, contentLength: Int?, allocator: ByteBufferAllocator) -> ByteBuffer {
        var buffer = allocator.buffer(capacity: 256)
        // One pass in the common case: a `Connection:` naming other headers (rare) needs a second one.
        var listed: String?
        for (name, value) in client {
            if HTTPHeaders.isHopByHop(name) {
                if name.utf8.count == 10, HTTPHeaders.equalsLowercase(name, "connection"),
                   // `Connection: keep-alive` / `close` (what clients send) name no other header to drop.
                   !HTTPHeaders.equalsLowercase(value, "keep-alive"), !HTTPHeaders.equalsLowercase(value, "close") {
                    listed = listed.map { $0 + "," + value } ?? value
                }
                continue
            }
            if isSetByGateway(name) { continue }
            write(name, value, to: &buffer)
        }
        if let listed {
            buffer.clear()
            for (name, value) in client {
                if HTTPHeaders.isHopByHop(name) || isSetByGateway(name) || HTTPHeaders.isListed(name, in: listed) { continue }
                write(name, value, to: &buffer)
            }
        }
        buffer.writeStaticString("x-request-id: ")
        buffer.writeString(requestID)
        buffer.writeStaticString("\r\n")
        if let contentLength {
            buffer.writeStaticString("content-length: ")
            buffer.writeString(String(contentLength))
            buffer.writeStaticString("\r\n")
        }
        return buffer
    }

    private static func write(_ name: String, _ value: String, to buffer: inout ByteBuffer) {
        buffer.writeString(name)
        buffer.writeStaticString(": ")
        buffer.writeString(value)
        buffer.writeStaticString("\r\n")
    }

    private static func isSetByGateway(_ name: String) -> Bool {
        switch name.utf8.count {
        case 4: HTTPHeaders.equalsLowercase(name, "host")
        case 12: HTTPHeaders.equalsLowercase(name, "x-request-id")
        case 14: HTTPHeaders.equalsLowercase(name, "content-length")
        default: false
        }
    }
}

extension HTTPHeaders {
    /// An upstream's response headers as the client gets them, in one pass: hop-by-hop headers and
    /// `x-request-id` left out, `content-length` kept when it equals `bodyLength` (else replaced; `nil`
    /// for HEAD: the upstream's is kept), then `x-request-id` and `x-shadowgate-served-by` appended.
    static func toClient(from upstream: HTTPHeaders, bodyLength: Int?, requestID: String, servedBy: String) -> HTTPHeaders {
        let length = bodyLength.map { String($0) }
        var kept: [(String, String)] = []
        kept.reserveCapacity(upstream.count + 3)
        // One pass in the common case: a `Connection:` naming other headers (rare) needs a second one.
        var listed: String?
        var lengthKept = keep(upstream, length: length, listed: nil, into: &kept, connectionListing: &listed)
        if listed != nil {
            kept.removeAll(keepingCapacity: true)
            var ignored: String?
            lengthKept = keep(upstream, length: length, listed: listed, into: &kept, connectionListing: &ignored)
        }
        if let length, !lengthKept { kept.append(("content-length", length)) }
        kept.append(("x-request-id", requestID))
        kept.append(("x-shadowgate-served-by", servedBy))
        return HTTPHeaders(kept)
    }

    /// Appends the upstream headers a client gets to `kept` (see ``toClient(from:bodyLength:requestID:servedBy:)``),
    /// collecting the tokens of `Connection:` headers other than keep-alive/close in `connectionListing`.
    /// Returns whether a right `content-length` was kept.
    private static func keep(
        _ upstream: HTTPHeaders, length: String?, listed: String?, into kept: inout [(String, String)], connectionListing: inout String?
    ) -> Bool {
        var lengthKept = false
        for (name, value) in upstream {
            if isHopByHop(name) {
                if name.utf8.count == 10, equalsLowercase(name, "connection"),
                   !equalsLowercase(value, "keep-alive"), !equalsLowercase(value, "close") {
                    connectionListing = connectionListing.map { $0 + "," + value } ?? value
                }
                continue
            }
            switch name.utf8.count {
            case 12 where equalsLowercase(name, "x-request-id"):
                continue
            case 14 where length != nil && equalsLowercase(name, "content-length"):
                // Kept in place when right (the common case); a wrong or repeated one is replaced below.
                if value == length, !lengthKept { lengthKept = true } else { continue }
            default:
                if let listed, isListed(name, in: listed) { continue }
            }
            kept.append((name, value))
        }
        return lengthKept
    }
}
