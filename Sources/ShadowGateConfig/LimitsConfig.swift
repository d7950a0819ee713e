/// Size caps on the data path.
public struct LimitsConfig: Sendable, Hashable {
    /// Largest request body accepted; larger ones get 413.
    public var maxBodyBytes: Int = 8 << 20
    /// Largest request body mirrored to the shadow model; larger ones are served but recorded as `body_too_large`.
    public var mirrorMaxBodyBytes: Int = 8 << 20
    /// Largest upstream response body read; a larger one is a 502 (primary) or an error (shadow).
    public var maxResponseBytes: Int = 32 << 20
    /// Whether request features are stored with each pair.
    public var captureFeatures: Bool = true
    /// Largest features JSON stored per pair; larger ones are stored as NULL and flagged truncated.
    public var featuresMaxBytes: Int = 16 << 10
    /// How long an idle pooled upstream connection is kept (keep it below the upstream's own idle timeout).
    public var upstreamIdleMillis: Int = 30_000
    /// Most client connections open at once (all event loops); further ones are closed as they are accepted.
    public var maxConnections: Int = 10_000
    /// Time a client has to send a whole request head once its first byte arrived; then 408 and close.
    public var clientHeaderTimeoutMillis: Int = 10_000
    /// Time a client has to send a whole request body once the head arrived; then 408 and close.
    public var clientBodyTimeoutMillis: Int = 30_000
    /// How long a keep-alive connection may sit with no request; then it is closed.
    public var clientIdleTimeoutMillis: Int = 60_000
    /// After an answer that closes an HTTP/1 connection, how long the gateway keeps reading (and
    /// dropping) what the client still sends, with its write side shut, before it closes (a lingering
    /// close: a client still sending reads the answer instead of a TCP reset). 0: close at once.
    public var clientLingerTimeoutMillis: Int = 2_000

    public init() {}
}
