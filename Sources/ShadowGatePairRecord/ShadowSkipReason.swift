/// Why the shadow model was not called for a request. Every unmirrored request says why.
public enum ShadowSkipReason: String, Sendable, Hashable, CaseIterable, Codable {
    /// Left out by the route's `shadow_percent` sampling.
    case sampledOut = "sampled_out"
    /// The shadow upstream's pool and wait queue were full.
    case poolSaturated = "pool_saturated"
    /// The request body was larger than `limits.mirror_max_body_bytes`.
    case bodyTooLarge = "body_too_large"
    /// The route has no shadow upstream configured.
    case noShadowUpstream = "no_shadow_upstream"
    /// The gateway was shutting down.
    case shuttingDown = "shutting_down"
    /// The shadow upstream's circuit breaker was open: recent connects failed or exchanges timed out,
    /// so it was not called until its backoff ends (the shadow side is recorded `unreachable`).
    case circuitOpen = "circuit_open"
}
