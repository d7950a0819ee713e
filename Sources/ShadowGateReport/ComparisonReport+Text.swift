import ShadowGateAdapters
import ShadowGatePromotion

/// The comparison as `shadowgate report` prints it: an aligned table for people, one JSON object
/// for scripts (the HTML report is ``HTMLReport``).
extension ComparisonReport {
    /// An aligned terminal table; the better value of each metric carries a `◀`.
    public func renderTable() -> String {
        var lines: [String] = []
        lines.append("ShadowGate comparison: route '\(route)', last \(since)")
        lines.append("pairs \(Self.format(value("pairs"), integer: true))   labelled \(Self.format(value("labelled_pairs"), integer: true))   agreement \(Self.format(value("agreement")))   mean |score diff| \(Self.format(value("mean_abs_score_diff")))")
        lines.append("")
        let header = ["metric", "legacy", "learner"]
        var table: [[String]] = [header]
        for row in rows {
            table.append([
                row.metric,
                Self.format(row.legacy) + (row.better == .legacy ? " ◀" : ""),
                Self.format(row.learner) + (row.better == .learner ? " ◀" : ""),
            ])
        }
        let widths = (0..<3).map { column in table.map { $0[column].count }.max() ?? 0 }
        for (index, cells) in table.enumerated() {
            let padded = cells.enumerated().map { column, cell in cell.padding(toLength: widths[column]) }
            lines.append(padded.joined(separator: "   ").trailingSpacesTrimmed)
            if index == 0 { lines.append(widths.map { String(repeating: "-", count: $0) }.joined(separator: "   ")) }
        }
        lines.append("")
        let delta = value("accuracy_delta")
        lines.append("accuracy delta (learner − legacy): \(delta.map { ($0 >= 0 ? "+" : "") + Self.format($0) } ?? "n/a")")
        if hasRegressionMetrics {
            func signed(_ v: Double?) -> String { v.map { ($0 >= 0 ? "+" : "") + Self.format($0) } ?? "n/a" }
            lines.append("paired error difference (legacy − learner, + means the learner errs less): "
                         + "|e| \(signed(value("abs_error_diff"))) ± \(Self.format(value("abs_error_diff_se"))) (SE), "
                         + "e² \(signed(value("sq_error_diff"))) ± \(Self.format(value("sq_error_diff_se"))) (SE)")
        }
        lines.append("score distributions: KS D \(Self.format(value("ks_d"))) (p \(Self.format(value("ks_p")))), PSI \(Self.format(value("psi")))")
        lines.append("predicted classes: chi² \(Self.format(value("chi2"))) (p \(Self.format(value("chi2_p"))))")
        return lines.joined(separator: "\n") + "\n"
    }

    /// One JSON object: `route`, `since`, then every column (`null` for SQL NULL).
    public func renderJSON() -> String {
        let head = ["\"route\":\(JSONLiteral.string(route))", "\"since\":\(JSONLiteral.string(since))"]
        return "{" + (head + columnFields).joined(separator: ",") + "}\n"
    }
}

extension String {
    func padding(toLength length: Int) -> String {
        count >= length ? self : self + String(repeating: " ", count: length - count)
    }

    var trailingSpacesTrimmed: String {
        var s = self
        while s.hasSuffix(" ") { s.removeLast() }
        return s
    }
}
