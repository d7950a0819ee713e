import ShadowGateRouting

/// One promotion gate: a bound on a metric that the learner must keep.
///
/// A gate is a lower bound (`…_min`) or an upper bound (`…_max`), absolute (`0.01`) or relative to
/// the legacy model's value of the same metric (`1.2x legacy`). A hard gate that fails rolls the
/// route back to `shadow` at once; a soft gate that fails only holds the current step.
///
/// Gates on counted outcomes (`carriesEvidence`: accuracy_delta_min, learner_accuracy_min,
/// learner_error_rate_max, learner_timeout_rate_max) are confidence statements at the policy's
/// alpha per gate: `accuracy_delta_min: X` passes when the *lower* confidence bound of the paired
/// accuracy difference (learner − legacy, on the same labelled requests) is ≥ X and fails when the
/// *upper* bound is < X — so the default X = 0 promotes only a learner shown better (an equal or
/// worse one passes with probability ≤ alpha), and X = −0.01 asks non-inferiority by one point.
/// A `…_max` gate passes when the upper bound is ≤ the maximum and fails when the lower bound is
/// above it. The other gates (latency percentiles, agreement, KS, PSI) compare compare()'s value
/// over the window with the bound, as before.
///
/// Regression routes (`task: regression`) have `mae_delta_max` and `mse_delta_max`: the mean over
/// labelled pairs of d = |e_learner|^p − |e_legacy|^p (p = 1, 2; errors clipped at the policy's
/// `error_clip`), learner minus legacy, so `mae_delta_max: 0` promotes only a learner shown to err
/// less and `0.1` tolerates 0.1 more absolute error. They pass when the upper confidence bound is ≤
/// the maximum and fail when the lower bound is above it (``QuantizedDifferenceEvidence``); only
/// absolute thresholds.
public struct GateRule: Sendable, Hashable {
    /// The metrics a gate can bound, named as in the config file.
    public enum Metric: String, Sendable, Hashable, CaseIterable {
        case accuracyDeltaMin = "accuracy_delta_min"
        case learnerAccuracyMin = "learner_accuracy_min"
        case agreementMin = "agreement_min"
        case ksDMax = "ks_d_max"
        case psiMax = "psi_max"
        case learnerErrorRateMax = "learner_error_rate_max"
        case learnerTimeoutRateMax = "learner_timeout_rate_max"
        case learnerP95MsMax = "learner_p95_ms_max"
        case learnerP99MsMax = "learner_p99_ms_max"
        case maeDeltaMax = "mae_delta_max"
        case mseDeltaMax = "mse_delta_max"

        /// The `compare()` column the gate reads.
        public var column: String {
            switch self {
            case .accuracyDeltaMin: "accuracy_delta"
            case .learnerAccuracyMin: "learner_accuracy"
            case .agreementMin: "agreement"
            case .ksDMax: "ks_d"
            case .psiMax: "psi"
            case .learnerErrorRateMax: "learner_error_rate"
            case .learnerTimeoutRateMax: "learner_timeout_rate"
            case .learnerP95MsMax: "learner_p95_ms"
            case .learnerP99MsMax: "learner_p99_ms"
            // learner − legacy: the opposite sign of compare()'s abs_error_diff / sq_error_diff
            case .maeDeltaMax: "mae_delta"
            case .mseDeltaMax: "mse_delta"
            }
        }

        /// The legacy model's column of the same metric, for relative thresholds; `nil` when the
        /// metric already compares the two models.
        public var legacyColumn: String? {
            switch self {
            case .learnerAccuracyMin: "legacy_accuracy"
            case .learnerErrorRateMax: "legacy_error_rate"
            case .learnerTimeoutRateMax: "legacy_timeout_rate"
            case .learnerP95MsMax: "legacy_p95_ms"
            case .learnerP99MsMax: "legacy_p99_ms"
            case .accuracyDeltaMin, .agreementMin, .ksDMax, .psiMax, .maeDeltaMax, .mseDeltaMax: nil
            }
        }

        /// `true` for lower bounds (`value >= threshold` passes), `false` for upper bounds.
        public var isLowerBound: Bool { rawValue.hasSuffix("_min") }

        /// Whether the metric needs labelled pairs (and so `min_labels`) to be conclusive.
        public var needsLabels: Bool { self == .accuracyDeltaMin || self == .learnerAccuracyMin || isRegression }

        /// The gates on a regression route's paired errors.
        public var isRegression: Bool { self == .maeDeltaMax || self == .mseDeltaMax }

        /// The error's power p of a regression gate (1: absolute, 2: squared).
        public var errorPower: Int? {
            switch self {
            case .maeDeltaMax: 1
            case .mseDeltaMax: 2
            default: nil
            }
        }

        /// Whether the gate is decided by a confidence sequence on counts (see the type's comment).
        public var carriesEvidence: Bool {
            switch self {
            case .accuracyDeltaMin, .learnerAccuracyMin, .learnerErrorRateMax, .learnerTimeoutRateMax, .maeDeltaMax, .mseDeltaMax: true
            case .agreementMin, .ksDMax, .psiMax, .learnerP95MsMax, .learnerP99MsMax: false
            }
        }

        /// The hardness a gate gets when the config does not say: every gate is hard unless made soft,
        /// because a gate someone wrote down is a promise about the learner.
        public static let defaultHard = true
    }

    /// Where the bound comes from.
    public enum Threshold: Sendable, Hashable, CustomStringConvertible {
        case absolute(Double)
        /// `factor × the legacy model's value` in the same window.
        case relativeToLegacy(Double)

        /// Parses `0.01`, `250`, `1.2x legacy` (also `1.2 x legacy`, `1.2×legacy`).
        public init?(parsing text: String) {
            let trimmed = text.trimmingWhitespace.lowercased()
            if let value = Double(trimmed), value.isFinite {
                self = .absolute(value)
                return
            }
            guard trimmed.hasSuffix("legacy") else { return nil }
            var factor = String(String(trimmed.dropLast("legacy".count)).trimmingWhitespace)
            guard factor.hasSuffix("x") || factor.hasSuffix("×") else { return nil }
            factor.removeLast()
            guard let value = Double(String(factor).trimmingWhitespace), value.isFinite, value >= 0 else { return nil }
            self = .relativeToLegacy(value)
        }

        public var description: String {
            switch self {
            case .absolute(let value): value.formattedShort
            case .relativeToLegacy(let factor): "\(factor.formattedShort)x legacy"
            }
        }
    }

    public var metric: Metric
    public var threshold: Threshold
    public var hard: Bool

    public init(metric: Metric, threshold: Threshold, hard: Bool = Metric.defaultHard) {
        self.metric = metric
        self.threshold = threshold
        self.hard = hard
    }

    /// The bound in this window: the absolute value, or the factor times the legacy value
    /// (`nil` when the legacy value is unknown).
    public func bound(in values: [String: Double?]) -> Double? {
        switch threshold {
        case .absolute(let value): value
        case .relativeToLegacy(let factor): metric.legacyColumn.flatMap { values[$0] ?? nil }.map { factor * $0 }
        }
    }
}
