/// The live traffic split of a route: what flags change at run time.
public struct RouteFlags: Sendable, Hashable, Codable {
    public var mode: RouteMode
    /// Learner share in `canary` mode, 0–100.
    public var canaryPercent: Double
    /// Share of requests mirrored to the non-serving model, 0–100.
    public var shadowPercent: Double

    public init(mode: RouteMode, canaryPercent: Double, shadowPercent: Double) {
        self.mode = mode
        self.canaryPercent = canaryPercent
        self.shadowPercent = shadowPercent
    }

    /// Which model serves a request in the given sticky bucket.
    public func servingModel(bucket: UInt32) -> ModelRole {
        switch mode {
        case .legacy, .shadow: .legacy
        case .promoted: .learner
        case .canary: StickyBucket.isLearner(bucket: bucket, percent: canaryPercent) ? .learner : .legacy
        }
    }

    /// Whether the non-serving model is called at all in this mode.
    public var mirrors: Bool { mode != .legacy }

    /// Percent of requests the learner answers: all when promoted, the canary percent in canary
    /// mode, none in shadow or legacy mode (shadow calls answer no client).
    public var learnerShare: Double { mode.fixedCanaryPercent ?? canaryPercent }

    /// `canary 25 %`, `promoted`, `shadow`: the route's state as people read it.
    public var summary: String { mode == .canary ? "canary \(canaryPercent.formattedShortPercent)" : mode.rawValue }
}

extension Double {
    /// `5 %`, `0.25 %`: a percentage for people, to the flags' 0.01 resolution.
    public var formattedShortPercent: String {
        var text = String((self * 100).rounded() / 100)
        if text.hasSuffix(".0") { text.removeLast(2) }
        return text + " %"
    }
}
