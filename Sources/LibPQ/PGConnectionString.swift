import CLibPQ

/// Helpers for libpq connection strings (key/value form or `postgresql://` URLs).
public enum PGConnectionString {
    /// Parses `base` with libpq and returns an equivalent key/value string with `overrides`
    /// applied (e.g. `["dbname": "test_1"]`). Values are quoted, so any characters are safe.
    /// - Throws: ``PGError`` `.invalidConnectionString` with libpq's message.
    public static func overriding(_ base: String, with overrides: [String: String]) throws -> String {
        var err: UnsafeMutablePointer<CChar>?
        guard let opts = PQconninfoParse(base, &err) else {
            let msg = err.map { String(cString: $0).trimmingWhitespace() } ?? "unparsable connection string"
            if let err { PQfreemem(err) }
            throw PGError(.invalidConnectionString, message: msg)
        }
        defer { PQconninfoFree(opts) }
        var pairs: [(String, String)] = []
        var p = opts
        while let kw = p.pointee.keyword {
            let key = String(cString: kw)
            if let v = overrides[key] {
                pairs.append((key, v))
            } else if let val = p.pointee.val {
                pairs.append((key, String(cString: val)))
            }
            p += 1
        }
        for (k, v) in overrides.sorted(by: { $0.key < $1.key }) where !pairs.contains(where: { $0.0 == k }) {
            pairs.append((k, v))
        }
        return pairs.map { "\($0.0)=\(quote($0.1))" }.joined(separator: " ")
    }

    /// A value quoted for a key/value connection string.
    public static func quote(_ value: String) -> String {
        "'" + value.replacing("\\", with: "\\\\").replacing("'", with: "\\'") + "'"
    }
}
