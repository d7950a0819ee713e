/// How a route splits traffic between its two models.
public enum RouteMode: String, Sendable, Hashable, CaseIterable, Codable {
    /// Plain proxy to the legacy model; nothing mirrored, no pair recorded.
    case legacy
    /// Legacy serves every request; the learner gets a copy in shadow.
    case shadow
    /// A sticky share (`canary_percent`) is served by the learner; the other model still runs in shadow.
    case canary
    /// The learner serves every request; the legacy model runs in shadow.
    case promoted

    /// The learner's share this mode always has: 100 in `promoted`, 0 in `shadow` and `legacy`;
    /// `nil` in `canary`, the one mode whose share is chosen.
    public var fixedCanaryPercent: Double? {
        switch self {
        case .canary: nil
        case .promoted: 100
        case .shadow, .legacy: 0
        }
    }
}
