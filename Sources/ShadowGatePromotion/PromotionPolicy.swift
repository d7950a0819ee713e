import ShadowGateRouting

/// How the promotion controller walks one route from `shadow` to `promoted`.
///
/// Each evaluation reads `compare()` over the last `window`. While every gate passes for `dwell`,
/// the controller takes the next step of `steps` (canary percentages; the step after the last one,
/// or a step of 100, is `promoted`). A failing hard gate rolls back to `shadow`; after a rollback
/// it advances again only on a window that lies wholly after the rollback, or after a person
/// changes the flags.
public struct PromotionPolicy: Sendable, Hashable {
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

    public init(
        enabled: Bool = false,
        steps: [Double] = [1, 5, 25, 50, 100],
        window: Duration = .seconds(600),
        dwell: Duration = .seconds(300),
        evaluateEvery: Duration = .seconds(15),
        minPairs: Int = 500,
        minLabels: Int = 200,
        gates: [GateRule] = PromotionPolicy.defaultGates
    ) {
        self.enabled = enabled
        self.steps = steps
        self.window = window
        self.dwell = dwell
        self.evaluateEvery = evaluateEvery
        self.minPairs = minPairs
        self.minLabels = minLabels
        self.gates = gates
    }

    /// The gates a policy has when the config lists none (DESIGN.md's example).
    public static let defaultGates: [GateRule] = [
        GateRule(metric: .accuracyDeltaMin, threshold: .absolute(0)),
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
