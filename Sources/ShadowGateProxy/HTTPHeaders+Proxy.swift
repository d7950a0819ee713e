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

extension HTTPHeaders {
    /// The client's headers as an upstream gets them, built in one pass (no `remove`, each of which is
    /// a pass of its own): hop-by-hop headers, those named in `Connection:`, `expect`, `content-length`,
    /// `x-request-id` and `host` are left out; then `x-request-id`, `content-length` (when given) and
    /// `host` are appended, in that order.
    static func forwarded(from client: HTTPHeaders, requestID: String, contentLength: Int?, host: String) -> HTTPHeaders {
        var listed: String?
        for (name, value) in client where name.utf8.count == 10 && equalsLowercase(name, "connection") {
            // `Connection: keep-alive` / `close` (what clients send) name no other header to drop.
            if equalsLowercase(value, "keep-alive") || equalsLowercase(value, "close") { continue }
            listed = listed.map { $0 + "," + value } ?? value
        }
        var kept: [(String, String)] = []
        kept.reserveCapacity(client.count + 3)
        for (name, value) in client {
            if isHopByHop(name) || isSetByGateway(name) { continue }
            if let listed, isListed(name, in: listed) { continue }
            kept.append((name, value))
        }
        kept.append(("x-request-id", requestID))
        if let contentLength { kept.append(("content-length", String(contentLength))) }
        kept.append(("host", host))
        return HTTPHeaders(kept)
    }

    /// An upstream's response headers as the client gets them, in one pass: hop-by-hop headers and
    /// `x-request-id` left out, `content-length` kept when it equals `bodyLength` (else replaced; `nil`
    /// for HEAD: the upstream's is kept), then `x-request-id` and `x-shadowgate-served-by` appended.
    static func toClient(from upstream: HTTPHeaders, bodyLength: Int?, requestID: String, servedBy: String) -> HTTPHeaders {
        var listed: String?
        for (name, value) in upstream where name.utf8.count == 10 && equalsLowercase(name, "connection") {
            if equalsLowercase(value, "keep-alive") || equalsLowercase(value, "close") { continue }
            listed = listed.map { $0 + "," + value } ?? value
        }
        let length = bodyLength.map { String($0) }
        var lengthKept = false
        var kept: [(String, String)] = []
        kept.reserveCapacity(upstream.count + 3)
        for (name, value) in upstream {
            if isHopByHop(name) { continue }
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
        if let length, !lengthKept { kept.append(("content-length", length)) }
        kept.append(("x-request-id", requestID))
        kept.append(("x-shadowgate-served-by", servedBy))
        return HTTPHeaders(kept)
    }

    private static func isSetByGateway(_ name: String) -> Bool {
        switch name.utf8.count {
        case 4: equalsLowercase(name, "host")
        case 12: equalsLowercase(name, "x-request-id")
        case 14: equalsLowercase(name, "content-length")
        default: false
        }
    }
}
