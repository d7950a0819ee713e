import NIOHTTP1

extension HTTPHeaders {
    /// Headers that describe one hop and must not be forwarded (RFC 9110 §7.6.1), plus the ones the gateway sets.
    static let hopByHop: Set<String> = [
        "connection", "keep-alive", "proxy-connection", "proxy-authenticate", "proxy-authorization",
        "te", "trailer", "transfer-encoding", "upgrade", "expect", "content-length",
    ]

    /// A copy without hop-by-hop headers, nor those named in `Connection:`.
    func strippingHopByHop() -> HTTPHeaders {
        var named: Set<String> = []
        for value in self["connection"] {
            for token in value.split(separator: ",") {
                named.insert(token.trimmingCharacters().lowercased())
            }
        }
        var out = HTTPHeaders()
        out.reserveCapacity(count + 3)
        for (name, value) in self {
            let lower = name.lowercased()
            if HTTPHeaders.hopByHop.contains(lower) || named.contains(lower) { continue }
            out.add(name: name, value: value)
        }
        return out
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
