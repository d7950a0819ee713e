import CLibPQ

extension PGConnectionString {
    /// `base` with each of `defaults` added where `base` does not set that keyword itself, so a
    /// value the operator wrote always wins (e.g. TCP keepalives for control connections).
    /// - Throws: ``PGError`` `.invalidConnectionString` with libpq's message.
    public static func addingDefaults(_ base: String, _ defaults: [String: String]) throws -> String {
        var err: UnsafeMutablePointer<CChar>?
        guard let opts = PQconninfoParse(base, &err) else {
            let msg = err.map { String(cString: $0) } ?? "unparsable connection string"
            if let err { PQfreemem(err) }
            throw PGError(.invalidConnectionString, message: msg)
        }
        var missing: [String: String] = [:]
        var p = opts
        while let kw = p.pointee.keyword {
            let key = String(cString: kw)
            if p.pointee.val == nil, let value = defaults[key] { missing[key] = value }
            p += 1
        }
        PQconninfoFree(opts)
        return missing.isEmpty ? base : try overriding(base, with: missing)
    }
}
