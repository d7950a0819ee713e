import ShadowGateRouting

/// One row of `shadowgate.flags`: a route's live traffic split and who set it last.
public struct FlagRecord: Sendable, Hashable {
    public var route: String
    public var flags: RouteFlags
    /// Grows by one on every change; writers may require the revision they read.
    public var revision: Int64
    /// When the flags last changed, seconds since 1970 (database clock).
    public var updatedAt: Double
    public var updatedBy: String
    public var reason: String

    public init(route: String, flags: RouteFlags, revision: Int64, updatedAt: Double, updatedBy: String, reason: String) {
        self.route = route
        self.flags = flags
        self.revision = revision
        self.updatedAt = updatedAt
        self.updatedBy = updatedBy
        self.reason = reason
    }

    /// Whether the promotion controller made the last change.
    public var changedByController: Bool { updatedBy.hasPrefix(FlagActor.controllerPrefix) }
}

/// Who changes flags, as written to `rollout_events.actor` and `flags.updated_by`.
public enum FlagActor {
    static let controllerPrefix = "controller:"

    /// `cli:USER@HOST`.
    public static func cli(user: String, host: String) -> String { "cli:\(user)@\(host)" }
    /// `admin:ADDRESS` (the admin API client's address).
    public static func admin(address: String) -> String { "admin:\(address)" }
    /// `controller:HOST:PID`.
    public static func controller(host: String, pid: Int32) -> String { "\(controllerPrefix)\(host):\(pid)" }
}
