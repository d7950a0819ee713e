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
        "legacy_mae", "learner_mae", "legacy_rmse", "learner_rmse",
        "abs_error_diff", "abs_error_diff_se", "sq_error_diff", "sq_error_diff_se",
    ]

    /// Whether the window has regression errors (numeric labels and scores from both models).
    public var hasRegressionMetrics: Bool { value("legacy_mae") != nil && value("learner_mae") != nil }

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

    /// Side-by-side metrics: accuracy (higher wins), MAE and RMSE when the window has numeric labels
    /// (lower wins), latencies and error/timeout rates (lower wins).
    public var rows: [Row] {
        func row(_ metric: String, _ legacyColumn: String, _ learnerColumn: String, higherIsBetter: Bool) -> Row {
            let l = value(legacyColumn), r = value(learnerColumn)
            var better: ModelRole?
            if let l, let r, l != r { better = (r > l) == higherIsBetter ? .learner : .legacy }
            return Row(metric: metric, legacyColumn: legacyColumn, learnerColumn: learnerColumn,
                       legacy: l, learner: r, better: better)
        }
        let regression = hasRegressionMetrics ? [
            row("MAE", "legacy_mae", "learner_mae", higherIsBetter: false),
            row("RMSE", "legacy_rmse", "learner_rmse", higherIsBetter: false),
        ] : []
        return [row("accuracy", "legacy_accuracy", "learner_accuracy", higherIsBetter: true)] + regression + [
            row("p50 latency (ms)", "legacy_p50_ms", "learner_p50_ms", higherIsBetter: false),
            row("p95 latency (ms)", "legacy_p95_ms", "learner_p95_ms", higherIsBetter: false),
            row("p99 latency (ms)", "legacy_p99_ms", "learner_p99_ms", higherIsBetter: false),
            row("error rate", "legacy_error_rate", "learner_error_rate", higherIsBetter: false),
            row("timeout rate", "legacy_timeout_rate", "learner_timeout_rate", higherIsBetter: false),
        ]
    }

    /// `"column":value` for every column of `compare()` (`null` for SQL NULL), in its order.
    public var columnFields: [String] {
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
