/// A route's row of `shadowgate.flags` as the report read it.
public struct FlagsSnapshot: Sendable, Equatable {
    public var mode: String
    public var canaryPercent: Double
    public var shadowPercent: Double
    public var revision: Int64
    /// Seconds since the epoch.
    public var updatedAt: Double
    public var updatedBy: String
    public var reason: String

    public init(mode: String, canaryPercent: Double, shadowPercent: Double, revision: Int64,
                updatedAt: Double, updatedBy: String, reason: String) {
        self.mode = mode
        self.canaryPercent = canaryPercent
        self.shadowPercent = shadowPercent
        self.revision = revision
        self.updatedAt = updatedAt
        self.updatedBy = updatedBy
        self.reason = reason
    }

    /// The learner's share of live traffic under these flags.
    public var learnerShare: Double { RolloutEvent.learnerShare(mode: mode, percent: canaryPercent) }
}
