import ShadowGateRouting
import ShadowGateEvidence

/// How the promotion controller walks one route from `shadow` to `promoted`, and on what evidence.
///
/// Each evaluation adds the counts that arrived since the last one to the route's evidence (paired
/// labelled outcomes, learner errors and timeouts) and checks every gate as a confidence statement
/// at its share of `alpha`: *pass* when the confidence bound clears the threshold, *fail* when the
/// opposite bound crosses it, otherwise *not yet* (see ``GateRule``). The controller takes the next
/// of `steps` once every gate passes and the current step has lasted `dwell`; a failing hard gate,
/// or a change detector that alarms while the learner serves traffic, rolls back to `shadow`.
///
/// What the old keys mean now:
/// - `window`: only the gates that carry no evidence (latency percentiles, agreement, drift) are
///   still computed over this sliding window; evidence gates accumulate since their last restart.
/// - `dwell`: the least time on a step before the next one (to see the learner under that share
///   of traffic); the statistics no longer need it.
/// - `evaluate_every`: how often counts are read and the gates checked (any frequency is valid).
/// - `min_pairs` / `min_labels`: floors for *promotion* only — a gate may not pass on fewer pairs
///   (labelled pairs for accuracy gates) since the evidence restarted; they never delay a rollback.
public struct PromotionPolicy: Sendable, Hashable {
    /// How evidence carries from one canary step to the next.
    public enum EvidenceAcrossSteps: String, Sendable, Hashable, CaseIterable {
        /// Keep accumulating across the controller's own steps (both models answer every request at
        /// every step, so the paired evidence is about the same learner); restart after a rollback
        /// or a person's change. The default: the benchmark shows it keeps the false-promotion rate
        /// at alpha and promotes a better learner sooner.
        case carry
        /// Start over at every step: each step's decision rests on that step's traffic alone.
        case restart
    }

    /// Which pairs the evidence gates are judged on.
    public enum EvidenceSource: String, Sendable, Hashable, CaseIterable {
        /// Every pair of the route (the default).
        case all
        /// Only the legacy holdout's pairs (`holdout_percent`): requests always served by legacy whose
        /// labels the learner never sees, so its training on its own decisions cannot bias them.
        case holdout
    }

    public var enabled: Bool
    /// Canary percentages, strictly increasing, each in (0, 100].
    public var steps: [Double]
    /// The comparison window each evaluation reads.
    public var window: Duration
    /// How long the gates must keep passing on a step before the next one.
    public var dwell: Duration
    /// How often the controller evaluates.
    public var evaluateEvery: Duration
    /// Fewer pairs than this in the window → inconclusive.
    public var minPairs: Int
    /// Fewer labelled pairs than this → the accuracy gates are inconclusive.
    public var minLabels: Int
    public var gates: [GateRule]
    /// The route's error level, split equally across its evidence gates (``AlphaSplit``): the chance
    /// that any gate ever passes wrongly is at most `alpha`.
    public var alpha: Double
    /// Only requests at least this old count toward accuracy, so that their labels had time to
    /// arrive (a recent window is biased toward requests whose labels come fast).
    public var labelDelay: Duration
    public var evidenceAcrossSteps: EvidenceAcrossSteps
    /// The change detectors' false-alarm level: while the learner stays as good as the gates ask,
    /// the expected number of evaluations before a false rollback is at least 1/`detectorAlpha`.
    public var detectorAlpha: Double
    /// Regression routes: errors larger than this count as this much in the regression gates
    /// (`mae_delta_max`, `mse_delta_max`), which bound the mean of clipped errors; required with them,
    /// because an anytime-valid bound on a mean needs bounded values. Choose it above every error
    /// that matters (e.g. the range of the labels): a smaller clip makes decisions faster but hides
    /// how much worse a learner's worst errors are.
    public var errorClip: Double?
    /// `evidence: all | holdout`.
    public var evidenceSource: EvidenceSource = .all

    public init(
        enabled: Bool = false,
        steps: [Double] = [1, 5, 25, 50, 100],
        window: Duration = .seconds(600),
        dwell: Duration = .seconds(300),
        evaluateEvery: Duration = .seconds(15),
        minPairs: Int = 500,
        minLabels: Int = 200,
        gates: [GateRule] = PromotionPolicy.defaultGates,
        alpha: Double = 0.05,
        labelDelay: Duration = .seconds(10),
        evidenceAcrossSteps: EvidenceAcrossSteps = .carry,
        detectorAlpha: Double = 0.0001,
        errorClip: Double? = nil
    ) {
        self.enabled = enabled
        self.steps = steps
        self.window = window
        self.dwell = dwell
        self.evaluateEvery = evaluateEvery
        self.minPairs = minPairs
        self.minLabels = minLabels
        self.gates = gates
        self.alpha = alpha
        self.labelDelay = labelDelay
        self.evidenceAcrossSteps = evidenceAcrossSteps
        self.detectorAlpha = detectorAlpha
        self.errorClip = errorClip
    }

    /// Whether a gate needs `shadowgate.regression_evidence()`.
    public var hasRegressionGates: Bool { gates.contains { $0.metric.isRegression } }

    /// The error level of each evidence gate.
    public var alphaPerGate: Double {
        AlphaSplit.perGate(alpha: alpha, gates: gates.filter(\.metric.carriesEvidence).count)
    }

    /// The gates a policy has when the config lists none (DESIGN.md's example).
    public static let defaultGates: [GateRule] = [
        GateRule(metric: .accuracyDeltaMin, threshold: .absolute(0)),
        GateRule(metric: .learnerErrorRateMax, threshold: .absolute(0.01)),
        GateRule(metric: .learnerP99MsMax, threshold: .relativeToLegacy(1.2)),
    ]

    /// The gates a regression route's policy has when the config lists none.
    public static let defaultRegressionGates: [GateRule] = [
        GateRule(metric: .maeDeltaMax, threshold: .absolute(0)),
        GateRule(metric: .learnerErrorRateMax, threshold: .absolute(0.01)),
        GateRule(metric: .learnerP99MsMax, threshold: .relativeToLegacy(1.2)),
    ]

    /// The flags of step `index` (`promoted` for a step of 100).
    public func flags(ofStep index: Int, shadowPercent: Double) -> RouteFlags {
        let percent = steps[index]
        return percent >= 100
            ? RouteFlags(mode: .promoted, canaryPercent: 100, shadowPercent: shadowPercent)
            : RouteFlags(mode: .canary, canaryPercent: percent, shadowPercent: shadowPercent)
    }

    /// The step after the given flags: the first step above the current canary share, or
    /// `promoted` after the last one; `nil` when already promoted (or in `legacy`, which has no pairs).
    public func nextStep(after flags: RouteFlags) -> RouteFlags? {
        switch flags.mode {
        case .legacy, .promoted:
            return nil
        case .shadow:
            return steps.isEmpty ? RouteFlags(mode: .promoted, canaryPercent: 100, shadowPercent: flags.shadowPercent)
                                 : self.flags(ofStep: 0, shadowPercent: flags.shadowPercent)
        case .canary:
            if let index = steps.firstIndex(where: { $0 > flags.canaryPercent }) {
                return self.flags(ofStep: index, shadowPercent: flags.shadowPercent)
            }
            return RouteFlags(mode: .promoted, canaryPercent: 100, shadowPercent: flags.shadowPercent)
        }
    }
}

extension Duration {
    /// Seconds as a `Double`, for arithmetic with wall-clock times.
    public var seconds: Double {
        let (s, attoseconds) = components
        return Double(s) + Double(attoseconds) / 1e18
    }

    /// Parses `500ms`, `30s`, `10m`, `1h`, `2d` or a bare number of seconds.
    public init?(parsingConfig text: String) {
        let trimmed = String(text.trimmingWhitespace).lowercased()
        let units: [(String, Double)] = [("ms", 0.001), ("s", 1), ("m", 60), ("h", 3600), ("d", 86400)]
        var factor = 1.0
        var number = Substring(trimmed)
        for (suffix, unitFactor) in units where trimmed.hasSuffix(suffix) {
            // "ms" is checked before "s" and "m": the first match wins.
            factor = unitFactor
            number = trimmed.dropLast(suffix.count)
            break
        }
        guard let value = Double(String(number).trimmingWhitespace), value.isFinite, value >= 0 else { return nil }
        self = .milliseconds(Int64((value * factor * 1000).rounded()))
    }

    /// `500ms`, `30s`, `10m`, `1h30m`-style text for messages (whole units, largest first).
    public var configText: String {
        let millis = Int64((seconds * 1000).rounded())
        if millis % 1000 != 0 { return "\(millis)ms" }
        var rest = millis / 1000
        var parts: [String] = []
        for (unit, size) in [("h", Int64(3600)), ("m", 60), ("s", 1)] where rest >= size {
            parts.append("\(rest / size)\(unit)")
            rest %= size
        }
        return parts.isEmpty ? "0s" : parts.joined()
    }
}
