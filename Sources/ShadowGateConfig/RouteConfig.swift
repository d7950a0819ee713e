import ShadowGateAdapters
import ShadowGatePromotion
import ShadowGateRouting

/// One model endpoint fronted by the gateway: the paths it answers, its two models and its traffic split.
public struct RouteConfig: Sendable, Hashable {
    public var name: String
    /// Request paths served by this route. A `*` segment matches any one segment, `*suffix` any segment ending so.
    public var match: [String]
    public var inferenceProtocol: InferenceProtocol
    /// For `protocol: json`: JSON pointer to the prediction in a response (e.g. `/result/score`).
    public var predictionPointer: String?
    /// For `protocol: json`: JSON pointer to the features in a request (default: the whole body).
    public var featuresPointer: String?
    public var mode: RouteMode
    /// Share of traffic served by the learner in `canary` mode, 0–100 (resolution 0.01).
    public var canaryPercent: Double
    /// Share of requests mirrored to the shadow model, 0–100; the rest are recorded as `sampled_out`.
    public var shadowPercent: Double
    public var stickyKey: StickyKey
    public var legacy: UpstreamConfig
    /// The continuous learner; a route without one can only run in `legacy` mode.
    public var learner: UpstreamConfig?
    /// The promotion controller's policy for this route; `nil` (or not enabled) leaves flags to people.
    public var promotion: PromotionPolicy?
    /// Classification (the default) or regression (numeric predictions and labels).
    public var task: RouteTask = .classification
    /// Share of sticky keys, 0–100, always served by legacy whatever the mode and canary share,
    /// whose labels are never forwarded to the learner (the legacy holdout); 0 for none.
    public var holdoutPercent: Double = 0

    public init(
        name: String,
        match: [String],
        inferenceProtocol: InferenceProtocol = .oipV2,
        predictionPointer: String? = nil,
        featuresPointer: String? = nil,
        mode: RouteMode = .shadow,
        canaryPercent: Double = 0,
        shadowPercent: Double = 100,
        stickyKey: StickyKey = .requestID,
        legacy: UpstreamConfig,
        learner: UpstreamConfig?,
        promotion: PromotionPolicy? = nil
    ) {
        self.name = name
        self.match = match
        self.inferenceProtocol = inferenceProtocol
        self.predictionPointer = predictionPointer
        self.featuresPointer = featuresPointer
        self.mode = mode
        self.canaryPercent = canaryPercent
        self.shadowPercent = shadowPercent
        self.stickyKey = stickyKey
        self.legacy = legacy
        self.learner = learner
        self.promotion = promotion
    }

    /// The upstream of a model role.
    public func upstream(_ role: ModelRole) -> UpstreamConfig? {
        role == .legacy ? legacy : learner
    }

    /// The model name in the route's protocol paths (`/v2/models/{name}/…`, `/v1/models/{name}:…`),
    /// used to pass model metadata and readiness calls through to the serving model.
    public var modelName: String? {
        for path in match {
            let parts = path.split(separator: "/", omittingEmptySubsequences: true)
            if parts.count >= 3, parts[1] == "models", parts[0] == "v2" || parts[0] == "v1" {
                let name = parts[2].split(separator: ":", maxSplits: 1).first.map(String.init) ?? ""
                if !name.isEmpty, name != "*" { return name }
            }
        }
        return nil
    }
}

extension RouteConfig {
    /// The flags the config file gives as the initial state.
    public var initialFlags: RouteFlags {
        RouteFlags(mode: mode, canaryPercent: canaryPercent, shadowPercent: shadowPercent)
    }
}
