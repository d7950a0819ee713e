import ShadowGateCore

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

    /// Percent of requests the learner answers: all when promoted, the canary percent in canary
    /// mode, none in shadow or legacy mode (shadow calls answer no client).
    public static func learnerShare(mode: String, percent: Double) -> Double {
        switch RouteMode(rawValue: mode) {
        case .promoted: 100
        case .canary: percent
        case .shadow, .legacy, nil: 0
        }
    }

    /// `canary 25 %`, `promoted`, `shadow`: as the flag commands write them.
    public static func state(mode: String, percent: Double?) -> String {
        guard mode == RouteMode.canary.rawValue else { return mode }
        return "canary \((percent ?? 0).formattedShortPercent)"
    }

    /// `shadow → canary 5 %`, or `→ shadow` for a first event.
    public var transition: String {
        (fromMode.map { Self.state(mode: $0, percent: fromPercent) + " " } ?? "") + "→ " + Self.state(mode: toMode, percent: toPercent)
    }
}
