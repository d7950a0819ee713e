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
