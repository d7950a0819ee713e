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
}
