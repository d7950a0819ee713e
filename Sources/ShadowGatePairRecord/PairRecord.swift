import ShadowGateRouting

/// Everything the gateway knows about one request answered by one model and mirrored to the other.
///
/// Built on the data path once both sides are done (or the shadow gave up), then handed to a
/// ``PairRecordSink``. Small and flat on purpose: it is copied into a queue per request.
public struct PairRecord: Sendable, Hashable {
    /// The request id (`x-request-id`), unique per request; the pair log's idempotency key.
    public var requestID: String
    public var route: String
    /// When the gateway received the request, in microseconds since the Unix epoch.
    public var receivedAtMicros: Int64
    /// The model whose answer the client got.
    public var servedBy: ModelRole
    public var mode: RouteMode
    /// The route's canary percentage when the request was routed.
    public var canaryPercent: Double
    public var legacy: PredictionSide
    public var learner: PredictionSide
    /// Why the shadow model was not called; `nil` when it was.
    public var shadowSkip: ShadowSkipReason?
    /// The request's input features as JSON text, when capture is on and they fit the cap.
    public var features: String?
    /// True when features were present but larger than the cap, so `features` is `nil`.
    public var featuresTruncated: Bool
    /// The request is in the route's legacy holdout (served by legacy whatever the mode; its label
    /// is never forwarded to the learner).
    public var holdout = false

    // Inlinable so the data path's record moves its sides and strings in instead of copying them.
    @inlinable
    public init(
        requestID: String,
        route: String,
        receivedAtMicros: Int64,
        servedBy: ModelRole,
        mode: RouteMode,
        canaryPercent: Double,
        legacy: PredictionSide,
        learner: PredictionSide,
        shadowSkip: ShadowSkipReason? = nil,
        features: String? = nil,
        featuresTruncated: Bool = false
    ) {
        self.requestID = requestID
        self.route = route
        self.receivedAtMicros = receivedAtMicros
        self.servedBy = servedBy
        self.mode = mode
        self.canaryPercent = canaryPercent
        self.legacy = legacy
        self.learner = learner
        self.shadowSkip = shadowSkip
        self.features = features
        self.featuresTruncated = featuresTruncated
    }

    /// The side of the given model.
    public subscript(role: ModelRole) -> PredictionSide {
        get { role == .legacy ? legacy : learner }
        set { if role == .legacy { legacy = newValue } else { learner = newValue } }
    }
}
