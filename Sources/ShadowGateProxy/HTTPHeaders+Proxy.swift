import NIOHTTP1

extension HTTPHeaders {
    /// A copy without hop-by-hop headers (RFC 9110 §7.6.1), those named in `Connection:`, and the
    /// framing headers the gateway sets itself (`content-length`, `expect`).
    func strippingHopByHop() -> HTTPHeaders {
        let connection = self.first(name: "connection")
        var out = HTTPHeaders()
        out.reserveCapacity(count + 3)
        for (name, value) in self {
            if Self.isHopByHop(name) { continue }
            if let connection, Self.isListed(name, in: connection) { continue }
            out.add(name: name, value: value)
        }
        return out
    }

    /// Case-insensitive membership in the hop-by-hop set, without allocating (this runs for every header of every request).
    static func isHopByHop(_ name: String) -> Bool {
        var name = name
        return name.withUTF8 { bytes -> Bool in
            switch bytes.count {
            case 2: return asciiEqualsLowercase(bytes, "te")
            case 6: return asciiEqualsLowercase(bytes, "expect")
            case 7: return asciiEqualsLowercase(bytes, "upgrade") || asciiEqualsLowercase(bytes, "trailer")
            case 10: return asciiEqualsLowercase(bytes, "connection") || asciiEqualsLowercase(bytes, "keep-alive")
            case 14: return asciiEqualsLowercase(bytes, "content-length")
            case 16: return asciiEqualsLowercase(bytes, "proxy-connection")
            case 17: return asciiEqualsLowercase(bytes, "transfer-encoding")
            case 18: return asciiEqualsLowercase(bytes, "proxy-authenticate")
            case 19: return asciiEqualsLowercase(bytes, "proxy-authorization")
            default: return false
            }
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

    private static func asciiEqualsLowercase(_ bytes: UnsafeBufferPointer<UInt8>, _ lower: StaticString) -> Bool {
        guard bytes.count == lower.utf8CodeUnitCount else { return false }
        let expected = lower.utf8Start
        for i in 0..<bytes.count {
            let byte = bytes[i]
            let lowered = byte >= UInt8(ascii: "A") && byte <= UInt8(ascii: "Z") ? byte | 0x20 : byte
            if lowered != expected[i] { return false }
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
