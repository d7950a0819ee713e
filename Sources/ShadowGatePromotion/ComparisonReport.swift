import ShadowGateAdapters
import ShadowGateRouting

/// One row of `shadowgate.compare()`, ready to print: the comparison people read at a glance.
public struct ComparisonReport: Sendable, Equatable {
    public var route: String
    /// The window as given (`1h`, `30 minutes`).
    public var since: String
    /// Every column of `compare()`, `nil` where SQL returned NULL.
    public var values: [String: Double?]

    /// The columns of `shadowgate.compare()`, in its order.
    public static let columns = [
        "pairs", "labelled_pairs", "agreement", "mean_abs_score_diff",
        "legacy_accuracy", "learner_accuracy", "accuracy_delta",
        "ks_d", "ks_p", "psi", "chi2", "chi2_p",
        "legacy_p50_ms", "legacy_p95_ms", "legacy_p99_ms",
        "learner_p50_ms", "learner_p95_ms", "learner_p99_ms",
        "legacy_error_rate", "learner_error_rate", "legacy_timeout_rate", "learner_timeout_rate",
    ]

    public init(route: String, since: String, values: [String: Double?]) {
        self.route = route
        self.since = since
        self.values = values
    }

    /// Builds a report from SQL text values (as libpq returns them).
    public init(route: String, since: String, text: [String: String?]) {
        var values: [String: Double?] = [:]
        for column in Self.columns {
            values[column] = text[column].flatMap { $0.flatMap(Double.init) }
        }
        self.init(route: route, since: since, values: values)
    }

    public func value(_ column: String) -> Double? { values[column] ?? nil }

    /// A metric compared side by side, and which model does better on it.
    public struct Row: Sendable, Equatable {
        public var metric: String
        /// The `compare()` columns the two values come from (`legacy_accuracy`, `learner_accuracy`).
        public var legacyColumn: String
        public var learnerColumn: String
        public var legacy: Double?
        public var learner: Double?
        /// `nil` when tied or when a side has no value.
        public var better: ModelRole?
    }

    /// Side-by-side metrics: accuracy (higher wins), latencies and error/timeout rates (lower wins).
    public var rows: [Row] {
        func row(_ metric: String, _ legacyColumn: String, _ learnerColumn: String, higherIsBetter: Bool) -> Row {
            let l = value(legacyColumn), r = value(learnerColumn)
            var better: ModelRole?
            if let l, let r, l != r { better = (r > l) == higherIsBetter ? .learner : .legacy }
            return Row(metric: metric, legacyColumn: legacyColumn, learnerColumn: learnerColumn,
                       legacy: l, learner: r, better: better)
        }
        return [
            row("accuracy", "legacy_accuracy", "learner_accuracy", higherIsBetter: true),
            row("p50 latency (ms)", "legacy_p50_ms", "learner_p50_ms", higherIsBetter: false),
            row("p95 latency (ms)", "legacy_p95_ms", "learner_p95_ms", higherIsBetter: false),
            row("p99 latency (ms)", "legacy_p99_ms", "learner_p99_ms", higherIsBetter: false),
            row("error rate", "legacy_error_rate", "learner_error_rate", higherIsBetter: false),
            row("timeout rate", "legacy_timeout_rate", "learner_timeout_rate", higherIsBetter: false),
        ]
    }

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
        lines.append("score distributions: KS D \(Self.format(value("ks_d"))) (p \(Self.format(value("ks_p")))), PSI \(Self.format(value("psi")))")
        lines.append("predicted classes: chi² \(Self.format(value("chi2"))) (p \(Self.format(value("chi2_p"))))")
        return lines.joined(separator: "\n") + "\n"
    }

    /// One JSON object: `route`, `since`, then every column (`null` for SQL NULL).
    public func renderJSON() -> String {
        let head = ["\"route\":\(JSONLiteral.string(route))", "\"since\":\(JSONLiteral.string(since))"]
        return "{" + (head + columnFields).joined(separator: ",") + "}\n"
    }

    /// `"column":value` for every column of `compare()` (`null` for SQL NULL), in its order.
    var columnFields: [String] {
        Self.columns.map { column in
            "\"\(column)\":" + JSONLiteral.number(value(column), integer: column == "pairs" || column == "labelled_pairs")
        }
    }

    /// A value as the table shows it: three decimals, scientific below 0.001, `n/a` for NULL.
    public static func format(_ value: Double?, integer: Bool = false) -> String {
        guard let value, value.isFinite else { return "n/a" }
        if integer { return String(Int64(value)) }
        if value != 0, abs(value) < 0.001 { return String(format3Scientific: value) }
        let rounded = (value * 1000).rounded() / 1000
        var text = String(rounded)
        if text.hasSuffix(".0") { text.removeLast(2) }
        return text
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

    /// `1.23e-05`-style text with three significant digits.
    init(format3Scientific value: Double) {
        var exponent = 0
        var mantissa = abs(value)
        while mantissa < 1 { mantissa *= 10; exponent -= 1 }
        while mantissa >= 10 { mantissa /= 10; exponent += 1 }
        let rounded = (mantissa * 100).rounded() / 100
        let sign = value < 0 ? "-" : ""
        let exp = exponent < 0 ? "-" + (abs(exponent) < 10 ? "0" : "") + String(abs(exponent)) : "+" + (exponent < 10 ? "0" : "") + String(exponent)
        self = "\(sign)\(rounded)e\(exp)"
    }
}
