import ShadowGateRouting

/// One row of `shadowgate.rollout_events`: a flag change by a person or the controller.
public struct RolloutEvent: Sendable, Equatable {
    public var id: Int64
    /// Seconds since the epoch.
    public var at: Double
    public var actor: String
    public var action: String
    public var fromMode: String?
    public var fromPercent: Double?
    public var toMode: String
    public var toPercent: Double
    public var reason: String
    public var learnerVersion: String?
    /// The numeric top-level values of its `metrics` jsonb (compare() at that moment); nested
    /// values (the controller's gate results) are left out.
    public var metrics: [String: Double]

    public init(id: Int64, at: Double, actor: String, action: String, fromMode: String?, fromPercent: Double?,
                toMode: String, toPercent: Double, reason: String, learnerVersion: String?, metrics: [String: Double]) {
        self.id = id
        self.at = at
        self.actor = actor
        self.action = action
        self.fromMode = fromMode
        self.fromPercent = fromPercent
        self.toMode = toMode
        self.toPercent = toPercent
        self.reason = reason
        self.learnerVersion = learnerVersion
        self.metrics = metrics
    }

    /// The learner's share of live traffic after the change.
    public var learnerShare: Double { Self.learnerShare(mode: toMode, percent: toPercent) }

    /// The learner's share before the change, `nil` for a route's first event (seeding).
    public var previousLearnerShare: Double? { fromMode.map { Self.learnerShare(mode: $0, percent: fromPercent ?? 0) } }

    /// ``RouteFlags/learnerShare`` of a mode and percent as stored (an unknown mode: none).
    public static func learnerShare(mode: String, percent: Double) -> Double {
        flags(mode: mode, percent: percent)?.learnerShare ?? 0
    }

    /// ``RouteFlags/summary`` of a mode and percent as stored (an unknown mode as it is).
    public static func state(mode: String, percent: Double?) -> String {
        flags(mode: mode, percent: percent ?? 0)?.summary ?? mode
    }

    private static func flags(mode: String, percent: Double) -> RouteFlags? {
        RouteMode(rawValue: mode).map { RouteFlags(mode: $0, canaryPercent: percent, shadowPercent: 100) }
    }

    /// `shadow → canary 5 %`, or `→ shadow` for a first event.
    public var transition: String {
        (fromMode.map { Self.state(mode: $0, percent: fromPercent) + " " } ?? "") + "→ " + Self.state(mode: toMode, percent: toPercent)
    }
}
