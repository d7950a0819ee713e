/// One numbered SQL file from the migrations directory (`0001_pairs.sql` → version 1, name `pairs`).
public struct Migration: Sendable, Hashable {
    public var version: Int
    public var name: String
    public var sql: String
    /// FNV-1a 64-bit hash of the SQL text, recorded when applied; a changed file is reported.
    public var checksum: String

    public init(version: Int, name: String, sql: String) {
        self.version = version
        self.name = name
        self.sql = sql
        checksum = Self.checksum(of: sql)
    }

    /// FNV-1a 64-bit hash of `text` as 16 hex digits: what `schema_migrations` and
    /// `schema_functions` record.
    public static func checksum(of text: String) -> String {
        var h: UInt64 = 0xcbf2_9ce4_8422_2325
        for b in text.utf8 { h = (h ^ UInt64(b)) &* 0x0000_0100_0000_01B3 }
        let hex = String(h, radix: 16)
        return String(repeating: "0", count: 16 - hex.count) + hex
    }

    /// Parses `NNNN_name.sql`; `nil` for any other file name.
    public static func parseFileName(_ file: String) -> (version: Int, name: String)? {
        guard file.hasSuffix(".sql") else { return nil }
        let stem = file.dropLast(4)
        let digits = stem.prefix(while: \.isNumber)
        guard !digits.isEmpty, let v = Int(digits) else { return nil }
        var rest = stem.dropFirst(digits.count)
        if rest.first == "_" || rest.first == "-" { rest = rest.dropFirst() }
        return (v, String(rest))
    }
}
