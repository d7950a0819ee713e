import Foundation
import LibPQ

/// The labels lines under `shadowgate report`'s table: coverage of the window's pairs, the label
/// delay (prediction → label), and how far delivery to the learner is.
enum LabelCoverageLine {
    /// `nil` when the database has no label delivery yet (before migration 0008) or the query fails:
    /// the report is still worth printing without it.
    static func load(route: String, since: String, from connection: PGConnection) -> String? {
        guard let result = try? connection.execute(
            """
            SELECT c.pairs, c.labelled, c.coverage, c.delay_p50_s, c.delay_p90_s, c.delay_p99_s,
                   s.pending, s.waiting, s.unmatched, s.delivered, s.lag_seconds
            FROM shadowgate.label_coverage($1, $2::interval) c, shadowgate.label_delivery_status s
            """, [route, since]), let row = result.rows.first, row.count == 11 else { return nil }
        func number(_ i: Int) -> Double? { row[i].flatMap(Double.init) }
        let pairs = Int(number(0) ?? 0), labelled = Int(number(1) ?? 0)
        var line = "labels      \(labelled) of \(pairs) pairs labelled"
        if let coverage = number(2) { line += " (\(String(format: "%.1f", coverage * 100)) %)" }
        if let p50 = number(3), let p90 = number(4), let p99 = number(5) {
            line += "; label delay p50 \(seconds(p50)), p90 \(seconds(p90)), p99 \(seconds(p99))"
        }
        line += "\ndelivery    \(Int(number(9) ?? 0)) delivered, \(Int(number(6) ?? 0)) pending (lag \(seconds(number(10) ?? 0))), "
            + "\(Int(number(7) ?? 0)) waiting for their prediction, \(Int(number(8) ?? 0)) unmatched (all routes)"
        return line
    }

    static func seconds(_ s: Double) -> String {
        if s < 1 { return "\(Int((s * 1000).rounded())) ms" }
        if s < 120 { return String(format: "%.1f s", s) }
        if s < 7200 { return String(format: "%.1f min", s / 60) }
        return String(format: "%.1f h", s / 3600)
    }
}
