import Foundation
import LibPQ

/// The SciPy fixtures of `Scripts/stats-fixtures/make_fixtures.py` (committed JSON) and helpers for
/// checking the SQL statistics of `migrations/functions/` against them.
enum CompareSQLFixtures {
    /// `Fixtures/compare_stats.json` next to this file.
    static let path: String = {
        var url = URL(fileURLWithPath: #filePath)
        url.deleteLastPathComponent()
        return url.appendingPathComponent("Fixtures/compare_stats.json").path
    }()

    /// The whole fixture document as JSON text; the tests pass it to PostgreSQL as one `jsonb`
    /// parameter, so inputs and expected values are read by PostgreSQL's exact decimal → float8
    /// conversion and come back as text that `Double(_:)` parses exactly.
    static func text() throws -> String { try String(contentsOfFile: path, encoding: .utf8) }

    /// Runs `sql` ($1 = the fixture document) on a fresh migrated database.
    static func query(_ sql: String, prefix: String = "cmp") throws -> PGResult {
        let cs = try TestDatabase.migrated(prefix)
        let c = try PGConnection(connectionString: cs)
        defer { c.close() }
        return try c.execute(sql, [try text()])
    }
}

/// A double from a PostgreSQL text value (`nil` stays `nil`).
func pgDouble(_ s: String?) -> Double? {
    guard let s else { return nil }
    switch s {
    case "NaN": return .nan
    case "Infinity": return .infinity
    case "-Infinity": return -.infinity
    default: return Double(s)
    }
}

/// Whether `got` matches `want`: both nil, or equal, or within `abs` absolute or `rel` relative.
func matches(_ got: Double?, _ want: Double?, abs absTol: Double = 0, rel: Double = 0) -> Bool {
    switch (got, want) {
    case (nil, nil): return true
    case let (g?, w?): return g == w || Swift.abs(g - w) <= Swift.max(absTol, rel * Swift.abs(w))
    default: return false
    }
}

/// |got - want| for reporting (0 when both nil, infinity when only one is nil).
func difference(_ got: Double?, _ want: Double?) -> Double {
    switch (got, want) {
    case (nil, nil): return 0
    case let (g?, w?): return Swift.abs(g - w)
    default: return .infinity
    }
}
